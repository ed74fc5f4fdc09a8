"""Breakdown tables of the final cohort as counts over blocks, with all their margins.

The final cohort is split into blocks by every stratum any breakdown uses (the full cross, empty
combinations included: an intruder does not know they are empty). A table cell, a row or column
total, a site group's subtotal and the grand total are each the union of the blocks they cover,
so tables released together are linked exactly as the people in them are.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from cohortql.counts import RawCounts
from cohortql.protect.artifact import ArtifactBuilder

COST_CELL, COST_MARGIN = 1, 2


@dataclass(frozen=True)
class Level:
    """One coordinate of a table cell: a stratum value, a group of values, or the total."""

    kind: str  # "value" | "group" | "total"
    value: Hashable = None


TOTAL = Level("total")


@dataclass(frozen=True)
class Hierarchy:
    """Values of a stratum grouped under a parent (a care site within a hospital group).

    Tables by `stratum` then carry each group's subtotal; tables may also be by `parent` alone.
    Values missing from `parent_of` belong to the group `None` (unknown group).
    """

    stratum: str
    parent: str
    parent_of: tuple[tuple[Hashable, Hashable], ...]

    @classmethod
    def of(cls, stratum: str, parent: str, parent_of: Mapping) -> Hierarchy:
        return cls(stratum, parent, tuple(parent_of.items()))

    def group(self, value: Hashable) -> Hashable:
        return dict(self.parent_of).get(value)


@dataclass(frozen=True)
class Breakdown:
    """A table of the final cohort by one or more strata (RawCounts strata or hierarchy parents)."""

    strata: tuple[str, ...]

    @property
    def name(self) -> str:
        return " x ".join(self.strata)


def _order(value: Hashable):
    return (value is None, type(value).__name__, value if value is not None else 0)


class FinalCohortCube:
    """The final cohort by every stratum the breakdowns need: its blocks, and each table's cells.

    Tables that share no stratum (by site x month, and by sex x age band) need not be crossed:
    the cohort is cut into blocks once per *component* (strata linked by a table), and the
    components' blocks are tied by one structural fact, that each adds up to the same final
    cohort (`links`). For the intruder this is exactly as informative as the full cross (any
    non-negative tables with equal totals are the margins of some non-negative cross table),
    with a sum of block counts instead of their product.
    """

    def __init__(
        self,
        raw: RawCounts,
        breakdowns: tuple[Breakdown, ...],
        hierarchies: tuple[Hierarchy, ...] = (),
        strata_values: Mapping[str, tuple] | None = None,
    ):
        self.hierarchies = {h.stratum: h for h in hierarchies}
        parents = {h.parent: h for h in hierarchies}
        self._base = {}  # table stratum -> the RawCounts stratum it is computed from
        for breakdown in breakdowns:
            for name in breakdown.strata:
                base = parents[name].stratum if name in parents else name
                if base not in raw.strata:
                    raise ValueError(f"breakdown by `{name}`: the counts have no stratum `{base}`")
                self._base[name] = base
            bases = [self._base[name] for name in breakdown.strata]
            if len(set(bases)) != len(bases):
                raise ValueError(f"breakdown {breakdown.name}: two strata from the same stratum")
        self.breakdowns = breakdowns
        self.strata = tuple(sorted(set(self._base.values()), key=raw.strata.index))
        self.components = _components(
            [[self._base[name] for name in b.strata] for b in breakdowns], self.strata, raw.strata.index
        )
        values: dict[str, set] = {name: set() for name in self.strata}
        for name in self.strata:
            values[name] |= set((strata_values or {}).get(name, ()))
            if name in self.hierarchies:
                values[name] |= {leaf for leaf, _ in self.hierarchies[name].parent_of}
        full = (1 << len(raw.rule_names)) - 1
        positions = [[raw.strata.index(name) for name in component] for component in self.components]
        every = [(values[name], raw.strata.index(name)) for name in self.strata]
        self._sizes: list[dict[tuple, int]] = [{} for _ in self.components]
        for mask, strata, persons, _entries in raw.rows:
            for seen, position in every:
                seen.add(strata[position])
            if mask & full == full:
                for sizes, places in zip(self._sizes, positions, strict=True):
                    leaf = tuple(strata[p] for p in places)
                    sizes[leaf] = sizes.get(leaf, 0) + persons
        self.values = {name: sorted(found, key=_order) for name, found in values.items()}
        self._cells: dict[Breakdown, list] = {}

    def base(self, name: str) -> str:
        """The RawCounts stratum a table stratum is computed from (itself, or a hierarchy's child)."""
        return self._base[name]

    def _component_blocks(self, index: int) -> dict[tuple, int]:
        component = self.components[index]
        combos = itertools.product(*(self.values[name] for name in component))
        return {("final", index, combo): self._sizes[index].get(combo, 0) for combo in combos}

    def blocks(self) -> dict[tuple, int]:
        """("final", component, values by stratum) -> persons, for every combination of observed values."""
        found = {}
        for index in range(len(self.components)):
            found.update(self._component_blocks(index))
        return found

    def final_blocks(self) -> list[tuple]:
        """The blocks that make up the final cohort once (those of the first component)."""
        return list(self._component_blocks(0))

    def links(self) -> list[tuple[list[tuple], list[tuple]]]:
        """Pairs of block lists that add up to the same persons: the final cohort, cut two ways."""
        first = self.final_blocks()
        return [(first, list(self._component_blocks(i))) for i in range(1, len(self.components))]

    def levels(self, name: str) -> list[tuple[Level, frozenset]]:
        """The rows a table by `name` shows, each with the stratum values it covers."""
        base = self._base[name]
        leaves = self.values[base]
        hierarchy = self.hierarchies.get(base)
        if hierarchy is None:
            rows = [(Level("value", v), frozenset([v])) for v in leaves]
        else:
            groups = sorted({hierarchy.group(v) for v in leaves}, key=_order)
            rows = []
            for group in groups:
                members = frozenset(v for v in leaves if hierarchy.group(v) == group)
                if name != base:  # a table by the groups themselves
                    rows.append((Level("value", group), members))
                    continue
                rows.append((Level("group", group), members))
                rows += [(Level("value", v), frozenset([v])) for v in leaves if v in members]
        return [*rows, (TOTAL, frozenset(leaves))]

    def cells(self, breakdown: Breakdown) -> list[tuple[tuple[Level, ...], list[tuple]]]:
        """Every cell and margin of a table, with the blocks it adds up (in the order of `blocks`)."""
        if breakdown not in self._cells:
            index = next(i for i, c in enumerate(self.components) if self._base[breakdown.strata[0]] in c)
            component = self.components[index]
            positions = [component.index(self._base[name]) for name in breakdown.strata]
            cells = []
            for combo in itertools.product(*(self.levels(name) for name in breakdown.strata)):
                # The component's blocks are every combination of values: the cell's members at its strata.
                choices = [self.values[name] for name in component]
                for p, (_level, members) in zip(positions, combo, strict=True):
                    choices[p] = [value for value in choices[p] if value in members]
                covered = [("final", index, block) for block in itertools.product(*choices)]
                cells.append((tuple(level for level, _ in combo), covered))
            self._cells[breakdown] = cells
        return self._cells[breakdown]


def _components(tables: list[list[str]], strata: tuple[str, ...], order) -> list[tuple[str, ...]]:
    """Strata grouped by the tables that link them (union-find); one empty component without tables."""
    parent = {name: name for name in strata}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    for table in tables:
        for name in table[1:]:
            parent[root(name)] = root(table[0])
    groups: dict[str, list[str]] = {}
    for name in strata:
        groups.setdefault(root(name), []).append(name)
    found = [tuple(sorted(group, key=order)) for group in groups.values()]
    return sorted(found, key=lambda group: order(group[0])) or [()]


def cell_key(breakdown: Breakdown, coords: tuple[Level, ...]) -> str:
    return f"breakdown/{breakdown.name}/{coords!r}"


def add_breakdowns(builder: ArtifactBuilder, cube: FinalCohortCube) -> None:
    """Declare every cell and margin of every table (the final cohort's blocks are already declared)."""
    for breakdown in cube.breakdowns:
        for coords, blocks in cube.cells(breakdown):
            interior = all(level.kind == "value" for level in coords)
            builder.quantity(cell_key(breakdown, coords), blocks, shown=True,
                             cost=COST_CELL if interior else COST_MARGIN)
