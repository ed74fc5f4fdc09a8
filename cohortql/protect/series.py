"""The feasibility report's one release: its tables, the time window, and how coarse its time series is.

The report shows, released together from one query: the final cohort by place (sites with their
group subtotals, or site groups), by sex x age band, and newly eligible persons (index date in the
period, every rule passed) by place and period over the last `WINDOW_MONTHS` months. Entries
before the window stay in the release as one period, `before`, so every table still adds up to the
final cohort.

The series is as fine as the data allow: by place and month unless more than half of its non-empty
cells are below the threshold, then by place and quarter, then by site group, then overall. The
choice is made on true counts, like every primary suppression decision, and the report says which
grain it shows and why.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from cohortql.counts import RawCounts
from cohortql.protect.policy import DisclosurePolicy
from cohortql.protect.strata import breakdown_inputs
from cohortql.protect.tables import Breakdown, Hierarchy

WINDOW_MONTHS = 36
BEFORE = "before"  # the period of every entry older than the window
MOSTLY_SUPPRESSED = 0.5
AGE_BAND = "age10"
PLACES = ("site", "site_group")


@dataclass(frozen=True)
class Grain:
    """How a series is cut: by `place` (site, site_group, or None for overall) and `period`."""

    place: str | None
    period: str  # month | quarter

    @property
    def strata(self) -> tuple[str, ...]:
        return (self.place, self.period) if self.place else (self.period,)


@dataclass(frozen=True)
class Window:
    """The months of the series, oldest first ('YYYY-MM')."""

    months: tuple[str, ...]

    @classmethod
    def ending(cls, last: str, length: int = WINDOW_MONTHS) -> Window:
        year, month = (int(part) for part in last.split("-"))
        index = year * 12 + month - 1
        return cls(tuple(f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - length + 1, index + 1)))

    def periods(self, period: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(quarter_of(m) if period == "quarter" else m for m in self.months))


@dataclass(frozen=True)
class Layout:
    """What the report may know of its release besides the protected numbers: no counts."""

    grain: Grain
    window: Window
    place: str | None
    finer_grains_refused: tuple[Grain, ...]  # tried first, mostly suppressed

    def to_dict(self) -> dict:
        """As a steward reviews it (no counts): the grain, the window's months, the grains refused."""
        def grain(g: Grain) -> dict:
            return {"place": g.place, "period": g.period}

        return {"grain": grain(self.grain), "window": list(self.window.months), "place": self.place,
                "finer_grains_refused": [grain(g) for g in self.finer_grains_refused]}


@dataclass(frozen=True)
class ReportRelease:
    """What `protect()` is given for a report (true counts: never past the protect stage)."""

    raw: RawCounts
    breakdowns: tuple[Breakdown, ...]
    hierarchies: tuple[Hierarchy, ...]
    values: dict
    layout: Layout


def quarter_of(month: str) -> str:
    year, number = month.split("-")
    return f"{year}-Q{(int(number) - 1) // 3 + 1}"


def report_strata(place: str | None) -> tuple[str, ...]:
    """The strata of the report's one query."""
    return (*(PLACES if place else ()), "sex", AGE_BAND, "month")


def last_month(release_date, raw: RawCounts) -> str | None:
    """The window's last month: the last whole quarter of the data (a partial month or quarter would
    bias the rate down), up to the data's release date, else up to the latest index month seen."""
    if release_date is not None:
        index = release_date.year * 12 + release_date.month - 1
        if (release_date + datetime.timedelta(days=1)).month == release_date.month:
            index -= 1  # the release month is not over
    else:
        position = raw.strata.index("month")
        months = [row[1][position] for row in raw.rows if row[1][position] is not None]
        if not months:
            return None
        year, month = (int(part) for part in max(months).split("-"))
        index = year * 12 + month - 1
    index -= (index % 12 + 1) % 3  # back to a quarter's last month (March, June, September, December)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _collapse_months(raw: RawCounts, window: Window, period: str) -> RawCounts:
    """The month stratum cut to the series' periods: months inside the window become their month
    or quarter, every other entry (older, or with no month) the one period `before`. Fewer
    distinct values, fewer hidden blocks for protection to reason about."""
    position = raw.strata.index("month")
    period_of = {m: quarter_of(m) if period == "quarter" else m for m in window.months}
    merged: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    cut: dict[tuple, tuple] = {}  # the same strata recur under every rule mask
    for mask, strata, persons, entries in raw.rows:
        if strata not in cut:
            cut[strata] = (*strata[:position], period_of.get(strata[position], BEFORE), *strata[position + 1 :])
        total = merged[(mask, cut[strata])]
        total[0] += persons
        total[1] += entries
    rows = tuple((mask, strata, persons, entries) for (mask, strata), (persons, entries) in merged.items())
    names = (*raw.strata[:position], period, *raw.strata[position + 1 :])
    return RawCounts(raw.rule_names, names, rows)


def _as_months(raw: RawCounts, period: str) -> RawCounts:
    """A series cut by month read again as by month (to be cut into quarters without the raw rows)."""
    return RawCounts(raw.rule_names, tuple("month" if name == period else name for name in raw.strata), raw.rows)


def _grains(place: str | None) -> list[Grain]:
    places = {"site": ["site", "site_group", None], "site_group": ["site_group", None], None: [None]}[place]
    return [Grain(p, period) for p in places for period in ("month", "quarter")]


def _mostly_suppressed(raw: RawCounts, grain: Grain, parent_of: dict, policy: DisclosurePolicy) -> bool:
    """More than half of the series' non-empty cells (the window only) would be below the threshold."""
    full = (1 << len(raw.rule_names)) - 1
    period_at = raw.strata.index(grain.period)
    site_at = raw.strata.index("site") if "site" in raw.strata else None
    cells: dict[tuple, int] = defaultdict(int)
    for mask, strata, persons, _entries in raw.rows:
        if mask & full != full or strata[period_at] == BEFORE:
            continue
        place = None
        if grain.place == "site":
            place = strata[site_at]
        elif grain.place == "site_group":
            place = parent_of.get(strata[site_at], strata[raw.strata.index("site_group")])
        cells[(place, strata[period_at])] += persons
    non_empty = [n for n in cells.values() if n > 0]
    return bool(non_empty) and sum(policy.is_small(n) for n in non_empty) > MOSTLY_SUPPRESSED * len(non_empty)


def plan_release(
    raw: RawCounts, site_catalogue: list[tuple], policy: DisclosurePolicy, place: str | None, window: Window
) -> ReportRelease:
    """The tables of one report, protected together: by place, by sex x age band, and the series."""
    dimensions = (*((place,) if place else ()), "sex", AGE_BAND)
    refused, chosen = [], None
    by_period = {"month": _collapse_months(raw, window, "month")}
    by_period["quarter"] = _collapse_months(_as_months(by_period["month"], "month"), window, "quarter")
    for grain in _grains(place):
        cut = by_period[grain.period]
        _breakdowns, hierarchies, values = breakdown_inputs((*dimensions, grain.period), cut, site_catalogue)
        parent_of = dict(hierarchies[0].parent_of) if hierarchies else {}
        chosen = (grain, cut, hierarchies, values)
        if not _mostly_suppressed(cut, grain, parent_of, policy):
            break
        refused.append(grain)
    else:
        refused.pop()  # even overall by quarter is mostly small: show it, suppressed as it must be
    grain, cut, hierarchies, values = chosen
    values[grain.period] = (*window.periods(grain.period), BEFORE)
    tables = [Breakdown(("sex", AGE_BAND)), Breakdown(grain.strata)]
    if place:
        tables.insert(0, Breakdown((place,)))
    return ReportRelease(cut, tuple(tables), hierarchies, values, Layout(grain, window, place, tuple(refused)))
