"""The concept report's record counts, protected together with the count they are shown next to.

Each row counts the records of one concept of a concept set. Small counts are marked `<k`
(primary). Shown next to a count (`review show`), the rows of the entry concept sets are also
linked to it: their records total T includes every entry event E, and T - E, the records that
did not become entries (outside observation, a later one where only the first counts), is a
count about people too. Knowing E and every row would give it exactly (807 - 802 = 5). So T - E
is sensitive when it may be small, and rows of the entry concept set are hidden (`>=k`, largest
first) until, whatever E the count shows, T - E meets both conditions of the protection level
(docs/disclosure.md): its range from the numbers alone is at least k wide, and with the marks
read it still reaches from the lowest small value to k - 1. The bounds are closed-form: each
row is bounded by what it shows, E by what the count shows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from cohortql.protect.artifact import Status
from cohortql.protect.policy import DisclosurePolicy
from cohortql.protect.result import Cell


def _interval(status: Status, shown: int | None, policy: DisclosurePolicy, marks: bool) -> tuple[float, float]:
    """What a reader knows of one count: its number (the rounding interval), or its mark, or nothing."""
    if status is Status.RELEASED:
        half = (policy.rounding_base or 0) / 2 if shown else 0
        return shown - half, shown + half
    if not marks:
        return 0.0, math.inf
    if status is Status.PRIMARY:
        return policy.lowest_small, policy.threshold - 1
    return policy.threshold, math.inf


def _entries_status(entries: dict | None, policy: DisclosurePolicy) -> tuple[Status, int | None] | None:
    if entries is None:
        return None
    if entries.get("value") is not None:
        return Status.RELEASED, int(entries["value"])
    return (Status.PRIMARY if entries["display"] == policy.suppressed_text else Status.COMPLEMENTARY), None


def _unprotected(records: Sequence[int], statuses: list[Status], linked: list[int], entries, policy) -> bool:
    """Whether T - E (records of the entry concept set that are not entry events) can be narrowed."""
    k, lowest = policy.threshold, policy.lowest_small
    ranges = {}
    for marks in (False, True):
        low = high = 0.0
        for i in linked:
            shown = records[i] if statuses[i] is Status.RELEASED else None
            a, b = _interval(statuses[i], policy.release(shown) if shown is not None else None, policy, marks)
            low, high = low + a, high + b
        e_low, e_high = _interval(*entries, policy, marks)
        ranges[marks] = (max(0.0, low - e_high), high - e_low)
    (n_low, n_high), (m_low, m_high) = ranges[False], ranges[True]
    if m_low > k - 1 or m_high < lowest:
        return False  # not small, whatever the reader works out: nothing to protect
    return n_high - n_low < k or m_low > lowest or m_high < k - 1


def protect_records(records: Sequence[int], codesets: Sequence[int], policy: DisclosurePolicy, *,
                    entry_codesets: frozenset[int] = frozenset(), entries: dict | None = None) -> list[str]:
    """How each row's record count is shown; `entries` is the count's entry-events cell (`to_dict()`)
    when the report is shown next to it, `entry_codesets` the concept sets entry events come from."""
    statuses = [Status.PRIMARY if policy.is_small(int(r)) else Status.RELEASED for r in records]
    shown_entries = _entries_status(entries, policy)
    linked = [i for i, c in enumerate(codesets) if c in entry_codesets]
    if shown_entries is not None and linked:
        by_size = sorted((i for i in linked), key=lambda i: -records[i])
        while _unprotected(records, statuses, linked, shown_entries, policy):
            released = [i for i in by_size if statuses[i] is Status.RELEASED]
            if not released:
                break  # every row hidden: T is unbounded, nothing more to hide
            statuses[released[0]] = Status.COMPLEMENTARY
    return [
        policy.complementary_text if status is Status.COMPLEMENTARY else shown_alone(int(r), policy).display
        for r, status in zip(records, statuses, strict=True)
    ]


def shown_alone(count: int, policy: DisclosurePolicy) -> Cell:
    """A count shown by itself, in no total or margin with others it could be computed from (a
    concept's records or persons in `cohortql concepts search` and `show`): `<k` when small, else
    released (rounded to the policy's base)."""
    if policy.is_small(count):
        return Cell(None, policy.suppressed_text)
    released = policy.release(count)
    return Cell(released, f"{released:,}")
