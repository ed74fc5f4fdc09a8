"""The feasibility report's release plan: its window, its periods, and how coarse its series is.

Expected grains are worked out by hand from the raw counts written in each test.
"""

import datetime

import pytest

from cohortql.counts import RawCounts
from cohortql.protect import DisclosurePolicy, protect
from cohortql.protect.series import BEFORE, Grain, Window, last_month, plan_release, quarter_of, report_strata

STRATA = report_strata("site")  # site, site_group, sex, age10, month
CATALOGUE = [("A", "north"), ("B", "north"), ("C", "south")]
WINDOW = Window.ending("2025-12", 12)


def _raw(cells: dict[tuple[str, str], int], rules: int = 0, older: int = 0) -> RawCounts:
    """Final-cohort persons by (site, month), all female aged 50-59; `older` more at site A in 2019."""
    groups = dict(CATALOGUE)
    full = (1 << rules) - 1
    rows = [(full, (site, groups[site], "female", 50, month), n, n) for (site, month), n in cells.items()]
    if older:
        rows.append((full, ("A", "north", "female", 50, "2019-05"), older, older))
    return RawCounts(tuple(f"rule {i}" for i in range(1, rules + 1)), STRATA, tuple(rows))


def test_the_window_ends_with_the_last_whole_quarter_before_the_release():
    assert last_month(datetime.date(2025, 12, 31), None) == "2025-12"  # December is over on the 31st
    assert last_month(datetime.date(2025, 12, 30), None) == "2025-09"
    assert last_month(datetime.date(2024, 2, 15), None) == "2023-12"
    assert Window.ending("2025-12", 3).months == ("2025-10", "2025-11", "2025-12")
    assert Window.ending("2025-02", 3).months == ("2024-12", "2025-01", "2025-02")
    assert WINDOW.periods("quarter") == ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4")
    assert [quarter_of(m) for m in ("2025-01", "2025-03", "2025-04", "2025-12")] == [
        "2025-Q1", "2025-Q1", "2025-Q2", "2025-Q4"]


def test_without_a_release_date_the_latest_index_month_ends_the_window():
    raw = _raw({("A", "2025-05"): 12, ("B", "2024-11"): 3})
    assert last_month(None, raw) == "2025-03"  # May 2025 is in an unfinished quarter


def test_a_well_filled_monthly_series_by_site_is_kept():
    cells = {(site, month): 12 for site in "ABC" for month in WINDOW.months}
    release = plan_release(_raw(cells), CATALOGUE, DisclosurePolicy(), "site", WINDOW)
    assert release.layout.grain == Grain("site", "month")
    assert release.layout.finer_grains_refused == ()
    assert release.values["month"] == (*WINDOW.months, BEFORE)
    assert [b.strata for b in release.breakdowns] == [("site",), ("sex", "age10"), ("site", "month")]


def test_mostly_small_monthly_cells_are_coarsened_to_quarters():
    # 4 a month at each site: every monthly cell is small, every quarter (12) is not
    cells = {(site, month): 4 for site in "ABC" for month in WINDOW.months}
    release = plan_release(_raw(cells), CATALOGUE, DisclosurePolicy(), "site", WINDOW)
    assert release.layout.grain == Grain("site", "quarter")
    assert release.layout.finer_grains_refused == (Grain("site", "month"),)
    assert release.raw.strata[-1] == "quarter"  # cut before protection: fewer blocks
    by_quarter = {}
    for _mask, strata, persons, _entries in release.raw.rows:
        by_quarter[(strata[0], strata[-1])] = by_quarter.get((strata[0], strata[-1]), 0) + persons
    assert by_quarter == {(site, quarter): 12 for site in "ABC" for quarter in WINDOW.periods("quarter")}


def test_sparse_sites_fall_back_to_site_groups_then_to_the_whole_source():
    # 9 in the first month of each quarter at sites A and B (group north), none at C: small by
    # site, monthly or quarterly; group north has 18 in those months, so the group series is kept.
    cells = {(site, month): 9 for site in "AB" for month in WINDOW.months[::3]}
    release = plan_release(_raw(cells), CATALOGUE, DisclosurePolicy(), "site", WINDOW)
    assert release.layout.grain == Grain("site_group", "month")
    assert release.layout.finer_grains_refused == (Grain("site", "month"), Grain("site", "quarter"))
    # 2 a quarter at each site: north 4, south 2, overall 6 a quarter, all small: the last grain,
    # overall by quarter, is shown (and suppressed, as it must be).
    cells = {(site, month): 2 for site in "ABC" for month in WINDOW.months[::3]}
    release = plan_release(_raw(cells), CATALOGUE, DisclosurePolicy(), "site", WINDOW)
    assert release.layout.grain == Grain(None, "quarter")
    assert len(release.layout.finer_grains_refused) == 5


def test_entries_before_the_window_are_one_period_and_every_table_adds_up():
    cells = {(site, month): 12 for site in "ABC" for month in WINDOW.months}
    raw = _raw(cells, rules=1, older=30)
    release = plan_release(raw, CATALOGUE, DisclosurePolicy(), "site", WINDOW)
    result = protect(release.raw, DisclosurePolicy(), rule_kinds=("include",), title=None, fingerprint="x",
                     database={}, breakdowns=release.breakdowns, hierarchies=release.hierarchies,
                     strata_values=release.values)
    assert result.final.value == 3 * 12 * 12 + 30
    series = result.breakdowns[-1]
    before = [c for c in series.cells if c.coords == (("site", "A"), ("month", BEFORE))]
    assert [c.count.value for c in before] == [30]
    for table in result.breakdowns:
        total = [c for c in table.cells if all(coord is None for coord in c.coords)]
        assert [c.count.value for c in total] == [result.final.value]


@pytest.mark.parametrize("place", [None, "site_group"])
def test_the_query_strata_follow_the_place(place):
    assert report_strata(place) == ((("site", "site_group") if place else ()) + ("sex", "age10", "month"))
