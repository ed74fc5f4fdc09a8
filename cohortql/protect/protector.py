"""Turns raw mask counts into released numbers under a disclosure policy.

Decisions are taken on true counts. Every count about people (final, entries, each attrition
step, each gain) in 1..k-1 is suppressed.
"""

from __future__ import annotations

from cohortql.execute.runner import RawCounts
from cohortql.protect.policy import DisclosurePolicy
from cohortql.protect.result import _BUILT_BY_PROTECT, AttritionStep, Cell, ProtectedResult


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


def _cell(value: int, policy: DisclosurePolicy) -> Cell:
    if policy.is_small(value):
        return Cell(None, policy.suppressed_text)
    return Cell(value, f"{value:,}")


def protect(
    raw: RawCounts,
    policy: DisclosurePolicy,
    *,
    rule_kinds: tuple[str, ...],
    title: str | None,
    fingerprint: str,
    database: dict,
) -> ProtectedResult:
    steps = attrition_counts(raw)
    gains = gain_counts(raw)
    entries = sum(row[3] for row in raw.rows)
    attrition = [AttritionStep("entry", "entry", _cell(steps[0], policy), None)]
    for name, kind, persons, gain in zip(raw.rule_names, rule_kinds, steps[1:], gains, strict=True):
        attrition.append(AttritionStep(name, kind, _cell(persons, policy), _cell(gain, policy)))
    return ProtectedResult(
        title=title,
        final=_cell(steps[-1], policy),
        entries=_cell(entries, policy),
        attrition=tuple(attrition),
        policy=policy,
        fingerprint=fingerprint,
        database=database,
        _token=_BUILT_BY_PROTECT,
    )
