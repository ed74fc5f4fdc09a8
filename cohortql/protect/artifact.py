"""The released artifact as an intruder sees it: hidden groups of people and the counts over them.

Every number a release contains (an attrition step, a gain, a table cell, a margin) is the size
of a union of disjoint *blocks*: groups of people whose sizes are not released, known to the
intruder only to be non-negative. A count is a set of blocks, so the public structure (a margin
is the sum of its cells, each attrition step contains the next, a gain's persons were removed
by its rule) is carried by the sets themselves. Counts that are not shown but can be derived
(the persons removed by each rule) are quantities too, marked as not shown.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Quantity:
    """One count: the blocks it adds up, its true value, and whether the release shows it."""

    keys: tuple[str, ...]  # every place this count appears ("final" and the last attrition step are one)
    blocks: frozenset[int]
    value: int
    shown: bool  # shown in the release (as a number or a mark) rather than only derivable
    cost: int  # what hiding it costs a reader; complementary suppression hides cheap counts first


@dataclass(frozen=True)
class Artifact:
    block_values: tuple[int, ...]
    quantities: tuple[Quantity, ...]
    # Pairs of block sets known to hold the same people (the final cohort cut two ways): public
    # structure, an equality the intruder always knows.
    links: tuple[tuple[frozenset[int], frozenset[int]], ...] = ()
    block_keys: tuple[Hashable, ...] = ()  # what each block is (the release ledger maps persons to them)

    def __post_init__(self):
        if any(value < 0 for value in self.block_values):
            raise ValueError("a block of people cannot have a negative size")
        for quantity in self.quantities:
            if quantity.value != sum(self.block_values[b] for b in quantity.blocks):
                raise ValueError(f"{quantity.keys[0]}: value does not match its blocks")
        for first, other in self.links:
            if sum(self.block_values[b] for b in first) != sum(self.block_values[b] for b in other):
                raise ValueError("linked blocks do not add up to the same persons")


    def merged(self, blocks: frozenset[int], dropped: frozenset[int] = frozenset()) -> tuple[Artifact, tuple[int, ...]]:
        """These blocks as one block, the counts over only some of them left out, and so are the
        `dropped` blocks and every count over any of them; and the indices (in this artifact) of the
        counts kept, in order. What the attrition sees of the final cohort once its breakdown tables
        are decided apart: only its size."""
        kept = tuple(
            i for i, q in enumerate(self.quantities)
            if not q.blocks & dropped and (not q.blocks & blocks or q.blocks >= blocks)
        )
        others = [b for b in range(len(self.block_values)) if b not in blocks and b not in dropped]
        new_index = {b: n for n, b in enumerate(others)}
        merged_block = len(others)
        values = (*(self.block_values[b] for b in others), sum(self.block_values[b] for b in blocks))

        def remap(q: Quantity) -> frozenset[int]:
            inside = {merged_block} if q.blocks >= blocks else set()
            return frozenset({new_index[b] for b in q.blocks if b in new_index} | inside)

        quantities = tuple(
            Quantity(q.keys, remap(q), q.value, q.shown, q.cost) for q in (self.quantities[i] for i in kept)
        )
        return Artifact(values, quantities), kept


class ArtifactBuilder:
    """Collects blocks and counts; counts over the same blocks are merged into one quantity."""

    def __init__(self):
        self._blocks: dict[Hashable, int] = {}
        self._values: list[int] = []
        self._by_form: dict[frozenset[int], dict] = {}
        self._keys: set[str] = set()
        self._links: list[tuple[frozenset[int], frozenset[int]]] = []

    def block(self, key: Hashable, value: int) -> None:
        if key in self._blocks:
            raise ValueError(f"block {key!r} declared twice")
        self._blocks[key] = len(self._values)
        self._values.append(int(value))

    def link(self, first: Iterable[Hashable], other: Iterable[Hashable]) -> None:
        """Two sets of blocks that hold the same persons (their sums are equal)."""
        self._links.append((frozenset(self._blocks[b] for b in first), frozenset(self._blocks[b] for b in other)))

    def quantity(self, key: str, blocks: Iterable[Hashable], *, shown: bool, cost: int) -> None:
        if key in self._keys:
            raise ValueError(f"quantity {key!r} declared twice")
        self._keys.add(key)
        form = frozenset(self._blocks[b] for b in blocks)
        entry = self._by_form.setdefault(form, {"keys": [], "shown": False, "cost": 0})
        entry["keys"].append(key)
        entry["shown"] |= shown
        entry["cost"] = max(entry["cost"], cost)

    def build(self) -> Artifact:
        quantities = tuple(
            Quantity(tuple(e["keys"]), form, sum(self._values[b] for b in form), e["shown"], e["cost"])
            for form, e in self._by_form.items()
        )
        return Artifact(tuple(self._values), quantities, tuple(self._links), tuple(self._blocks))


class Status(Enum):
    """How a count leaves: as its number, marked small, marked hidden to protect, or not at all."""

    RELEASED = "released"
    PRIMARY = "primary"  # small: shown as <k
    COMPLEMENTARY = "complementary"  # not small, hidden so that no small count can be computed: shown as >=k
    DERIVED = "derived"  # never shown; an intruder can only compute it from the rest

    # Members are singletons: identity hashing is correct, and C-fast where Enum's own hashes the
    # name in Python (tuples of statuses key the intruder's caches, millions of hashes per release).
    __hash__ = object.__hash__
