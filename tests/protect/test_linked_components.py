"""Tables with no stratum in common are cut into blocks separately, tied by the final cohort's size.

The independent attack of tests/protect/test_intruder.py (which rebuilds the full cross) covers
releases of such tables; here: the cut itself, and that the tie is known to the intruder.
"""

from cohortql.counts import RawCounts
from cohortql.protect import Breakdown
from cohortql.protect.artifact import Status
from cohortql.protect.intervals import Intruder, Knowledge
from cohortql.protect.policy import DisclosurePolicy
from cohortql.protect.protector import build_artifact
from cohortql.protect.tables import FinalCohortCube, Level, cell_key

STRATA = ("site", "sex", "age10", "month")


def _raw(rows):
    return RawCounts((), STRATA, tuple((0, strata, n, n) for strata, n in rows))


def test_tables_without_a_common_stratum_are_separate_components():
    raw = _raw([(("A", "female", 50, "2025-01"), 3), (("B", "male", 60, "2025-02"), 40)])
    tables = (Breakdown(("site",)), Breakdown(("sex", "age10")), Breakdown(("site", "month")))
    values = {"site": ("A", "B", "C"), "sex": ("female", "male"), "age10": (40, 50, 60),
              "month": ("2025-01", "2025-02")}
    cube = FinalCohortCube(raw, tables, (), values)
    assert cube.components == [("site", "month"), ("sex", "age10")]
    assert len(cube.blocks()) == 3 * 2 + 2 * 3  # a sum of the components' blocks, not 3 * 2 * 3 * 2
    (first, other), = cube.links()
    assert sum(cube.blocks()[b] for b in first) == sum(cube.blocks()[b] for b in other) == 43


def test_the_intruder_knows_both_cuts_hold_the_same_persons():
    """Site A is hidden, and so are the site table's total and the final count; but the sex
    table's released total is the same cohort, so A = 43 - 40 exactly."""
    raw = RawCounts((), ("site", "sex"), ((0, ("A", "female"), 3, 3), (0, ("B", "female"), 17, 17),
                                          (0, ("B", "male"), 23, 23)))
    by_site, by_sex = Breakdown(("site",)), Breakdown(("sex",))
    artifact, _cube = build_artifact(raw, (by_site, by_sex), (), {"site": ("A", "B"), "sex": ("female", "male")})
    hidden = {cell_key(by_site, (Level("value", "A"),)): Status.PRIMARY,
              cell_key(by_site, (Level("total"),)): Status.COMPLEMENTARY, "final": Status.COMPLEMENTARY}
    statuses = []
    for quantity in artifact.quantities:
        marks = [hidden[key] for key in quantity.keys if key in hidden]
        statuses.append(marks[0] if marks else Status.RELEASED if quantity.shown else Status.DERIVED)
    site_a = next(i for i, q in enumerate(artifact.quantities) if cell_key(by_site, (Level("value", "A"),)) in q.keys)
    found = Intruder(artifact, DisclosurePolicy()).range(site_a, tuple(statuses), Knowledge.NUMBERS)
    assert (found.low, found.high) == (3, 3)
