"""The attrition as counts over blocks: steps, gains, the final count, entries, persons removed.

The one-pass result counts persons by rule mask. For the attrition only *where a person first
fails* matters, and whether that is the only rule they fail, so the hidden blocks are:
the final cohort (split by strata when breakdowns are released), and for each rule i the
persons who first fail rule i and meet every other rule (`gain i`: they would enter if rule i
were dropped) or first fail rule i and also a later one (`rest i`; empty for the last rule).
Persons after rule i = the final cohort plus every gain and rest block of the later rules.
"""

from __future__ import annotations

from collections.abc import Hashable

from cohortql.counts import RawCounts
from cohortql.protect.artifact import ArtifactBuilder

EXTRA_ENTRIES = ("extra entries",)  # entry events beyond one per person: not people, but linked to them

# What hiding each count costs a reader: complementary suppression hides the cheapest first.
COST_GAIN, COST_ENTRIES, COST_STEP, COST_ENTRY, COST_FINAL = 1, 1, 2, 4, 20


def attrition_counts(raw: RawCounts) -> list[int]:
    """Persons after the entry step and after each rule in the order written (true counts)."""
    by_mask: dict[int, int] = {}
    for mask, _strata, persons, _entries in raw.rows:
        by_mask[mask] = by_mask.get(mask, 0) + persons
    steps = [sum(by_mask.values())]
    for index in range(len(raw.rule_names)):
        prefix = (1 << (index + 1)) - 1
        steps.append(sum(n for mask, n in by_mask.items() if mask & prefix == prefix))
    return steps


def gain_counts(raw: RawCounts) -> list[int]:
    """For each rule, persons who meet every other rule but not this one."""
    full = (1 << len(raw.rule_names)) - 1
    gains = []
    for index in range(len(raw.rule_names)):
        target = full & ~(1 << index)
        gains.append(sum(persons for mask, _s, persons, _e in raw.rows if mask == target))
    return gains


def block_of_mask(mask: int, n_rules: int) -> tuple | None:
    """The attrition block of a mask (None for the final cohort); rules are numbered from 1."""
    full = (1 << n_rules) - 1
    if mask & full == full:
        return None
    first = next(i for i in range(n_rules) if not mask >> i & 1)
    return ("gain", first + 1) if mask & full == full & ~(1 << first) else ("rest", first + 1)


def add_attrition(builder: ArtifactBuilder, raw: RawCounts, final_blocks: list[Hashable]) -> None:
    """Declare the attrition's blocks and counts; `final_blocks` already hold the final cohort."""
    n = len(raw.rule_names)
    sizes: dict[tuple, int] = {("gain", i): 0 for i in range(1, n + 1)}
    sizes.update({("rest", i): 0 for i in range(1, n)})  # failing the last rule first means failing only it
    for mask, _strata, persons, _entries in raw.rows:
        block = block_of_mask(mask, n)
        if block is not None:
            sizes[block] += persons
    for key, size in sizes.items():
        builder.block(key, size)

    def later(i: int) -> list[Hashable]:
        return [*final_blocks, *(key for key in sizes if key[1] > i)]

    persons = sum(row[2] for row in raw.rows)
    entries = sum(row[3] for row in raw.rows)
    if entries < persons:
        raise ValueError("fewer entry events than persons who entered")
    for i in range(n + 1):
        builder.quantity(f"attrition/{i}", later(i), shown=True, cost=COST_ENTRY if i == 0 else COST_STEP)
    builder.quantity("final", final_blocks, shown=True, cost=COST_FINAL)
    for i in range(1, n + 1):
        builder.quantity(f"gain/{i}", [("gain", i)], shown=True, cost=COST_GAIN)
        builder.quantity(f"removed/{i}", [key for key in sizes if key[1] == i], shown=False, cost=0)
        if i < n:
            builder.quantity(f"removed/{i}/also failing a later rule", [("rest", i)], shown=False, cost=0)
    if entries > persons:
        builder.block(EXTRA_ENTRIES, entries - persons)
        builder.quantity("entries", [*later(0), EXTRA_ENTRIES], shown=True, cost=COST_ENTRIES)
    else:
        # One entry per person (or no one): the entries count is the entry step itself.
        builder.quantity("entries", later(0), shown=True, cost=COST_ENTRIES)
