"""The protect stage on hand-made counts: the edge cases of issue 4, tables, and what is refused."""

from __future__ import annotations

import dataclasses

import pytest

from cohortql.counts import RawCounts
from cohortql.protect import Breakdown, Cell, DisclosurePolicy, Hierarchy, PolicyError, ProtectedResult, protect
from cohortql.protect.artifact import Status
from cohortql.protect.protector import build_artifact
from cohortql.protect.result import UnprotectedResultError
from cohortql.protect.suppression import decide
from cohortql.report.counts import FORMATS, render


def chain(*rows, rules=2) -> RawCounts:
    """Raw counts without strata from (mask, persons) pairs; one entry per person."""
    return RawCounts(tuple(f"rule {i + 1}" for i in range(rules)), (), tuple((m, (), n, n) for m, n in rows))


def released(raw: RawCounts, policy: DisclosurePolicy | None = None, **tables) -> ProtectedResult:
    kinds = tuple("include" for _ in raw.rule_names)
    return protect(raw, policy or DisclosurePolicy(), rule_kinds=kinds, title=None, fingerprint="sha256:x",
                   database={"description": "test"}, **tables)


def displays(result: ProtectedResult) -> list[tuple[str, str | None]]:
    return [(step.persons.display, step.gain.display if step.gain else None) for step in result.attrition]


# ---- attrition ----------------------------------------------------------------------------

# Masks of two rules: 0b11 meets both, 0b10 fails only rule 1, 0b01 fails only rule 2, 0b00 fails both.
Q4_LIKE = chain((0b11, 13), (0b10, 5), (0b01, 99), (0b00, 74))


def test_a_small_gain_is_hidden_alone_when_nothing_gives_it_away():
    assert displays(released(Q4_LIKE)) == [("191", None), ("112", "<10"), ("13", "99")]


def test_two_released_steps_never_differ_by_a_small_count():
    # 100 enter, rule 1 removes 5 (3 fail only rule 1): entry or step 1 must go.
    result = released(chain((0b11, 50), (0b10, 3), (0b01, 45), (0b00, 2)))
    steps = [step.persons.value for step in result.attrition]
    assert None in steps[:2]
    assert result.attrition[1].gain.display == "<10"
    assert displays(result)[0][0] == ">=10"  # shown as not small, never as <10


def test_all_cells_small():
    result = released(chain((0b11, 2), (0b10, 3), (0b01, 1), (0b00, 3)))
    assert displays(result) == [("<10", None), ("<10", "<10"), ("<10", "<10")]
    assert result.final.display == "<10" and result.entries.display == "<10"


def test_total_below_k_hides_every_step_and_the_entries():
    result = released(chain((0b11, 4), (0b01, 40), (0b00, 30)))
    assert result.final == Cell(None, "<10")
    # 74 enter, 4 remain: step 2 is small and its neighbours give away nothing else.
    assert result.attrition[0].persons.value == 74


def test_threshold_one_suppresses_nothing():
    result = released(chain((0b11, 1), (0b10, 2), (0b01, 0), (0b00, 3)), DisclosurePolicy(threshold=1))
    assert displays(result) == [("6", None), ("1", "2"), ("1", "0")]


def test_threshold_one_with_zero_suppressed_hides_zeros_only():
    policy = DisclosurePolicy(threshold=1, suppress_zero=True)
    result = released(chain((0b11, 1), (0b10, 2), (0b00, 3)), policy)
    assert result.attrition[2].gain.display == "<1"
    assert result.final.display == "1"


def test_zero_shown_exactly_or_suppressed():
    raw = chain((0b11, 50), (0b10, 40), (0b00, 30))  # nobody fails only rule 2
    assert released(raw).attrition[2].gain == Cell(0, "0")
    assert released(raw, DisclosurePolicy(suppress_zero=True)).attrition[2].gain == Cell(None, "<10")


def test_entries_beyond_one_per_person_are_protected_with_the_entry_step():
    raw = RawCounts(("rule 1",), (), ((1, (), 4, 30), (0, (), 3, 3)))
    result = released(raw)
    assert result.attrition[0].persons.display == "<10"
    assert result.entries.display == "33"  # events, not persons: 33 events say nothing of the 7 persons


def test_without_complementary_suppression_only_small_counts_are_hidden():
    weak = DisclosurePolicy(complementary=False, attrition_differences=False)
    result = released(chain((0b11, 50), (0b10, 3), (0b01, 45), (0b00, 2)), weak)
    assert displays(result) == [("100", None), ("95", "<10"), ("50", "45")]


# ---- rounding -----------------------------------------------------------------------------


def test_rounding_comes_after_the_decisions():
    raw = chain((0b11, 52), (0b10, 3), (0b01, 47), (0b00, 14))
    exact, rounded = released(raw), released(raw, DisclosurePolicy(rounding_base=5))
    assert [d is None for d in _values(exact)] == [d is None for d in _values(rounded)]
    for true, shown in zip(_values(exact), _values(rounded), strict=True):
        if true is not None:
            assert shown % 5 == 0 and abs(shown - true) <= 2.5
    assert rounded.final == Cell(50, "50")


def test_rounding_off_releases_exact_counts_and_zero_stays_zero():
    raw = chain((0b11, 52), (0b10, 40), (0b00, 14))
    assert released(raw).final == Cell(52, "52")
    assert released(raw, DisclosurePolicy(rounding_base=10)).attrition[2].gain == Cell(0, "0")


def _values(result: ProtectedResult) -> list[int | None]:
    cells = [result.final, result.entries] + [s.persons for s in result.attrition]
    return [c.value for c in cells + [s.gain for s in result.attrition if s.gain]]


# ---- tables -------------------------------------------------------------------------------


def sites(**persons) -> RawCounts:
    """The final cohort (no rules) by site, from site=persons."""
    return RawCounts((), ("site",), tuple((0, (site,), n, n) for site, n in persons.items()))


def table_cells(result: ProtectedResult, index: int = 0) -> dict:
    return {tuple(c.coords): c.count for c in result.breakdowns[index].cells}


def test_one_small_cell_in_a_row_takes_a_partner_with_it():
    result = released(sites(A=3, B=40, C=50), breakdowns=(Breakdown(("site",)),))
    cells = table_cells(result)
    assert cells[(("site", "A"),)].display == "<10"
    hidden = [coords for coords, cell in cells.items() if cell.value is None]
    assert len(hidden) == 2  # A and the cheaper of B and C
    assert cells[(("site", "B"),)].display == ">=10"
    assert cells[(None,)] == Cell(93, "93") == result.final


def test_a_site_group_total_minus_its_visible_sites_does_not_give_away_a_site():
    groups = (Hierarchy.of("site", "site_group", {"A": "north", "B": "north", "C": "south", "D": "south"}),)
    raw = sites(A=3, B=40, C=50, D=60)
    result = released(raw, breakdowns=(Breakdown(("site",)),), hierarchies=groups)
    cells = table_cells(result)
    assert cells[(("site", "A"),)].display == "<10"
    north = cells[(("site_group", "north"),)]
    b = cells[(("site", "B"),)]
    assert north.value is None or b.value is None  # else north - B = A


def test_a_zero_margin_is_shown_and_never_used_to_protect():
    raw = RawCounts((), ("site", "sex"), ((0, ("A", "F"), 3, 3), (0, ("A", "F"), 0, 0), (0, ("B", "F"), 60, 60)))
    result = released(raw, breakdowns=(Breakdown(("site", "sex")),), strata_values={"sex": ("F", "M")})
    cells = table_cells(result)
    assert cells[(None, ("sex", "M"))] == Cell(0, "0")  # nobody is male: a zero margin
    assert cells[(("site", "A"), ("sex", "M"))] == Cell(0, "0")
    assert cells[(("site", "A"), ("sex", "F"))].display == "<10"
    zero_suppressed = released(raw, DisclosurePolicy(suppress_zero=True), breakdowns=(Breakdown(("site", "sex")),),
                               strata_values={"sex": ("F", "M")})
    assert table_cells(zero_suppressed)[(None, ("sex", "M"))].display == "<10"


def test_two_way_table_keeps_its_visible_cells_and_margins_additive():
    rows = [(0, (s, x), n, n) for (s, x), n in {("A", "F"): 3, ("A", "M"): 40, ("B", "F"): 50, ("B", "M"): 60,
                                                ("C", "F"): 45, ("C", "M"): 55}.items()]
    result = released(RawCounts((), ("site", "sex"), tuple(rows)), breakdowns=(Breakdown(("site", "sex")),))
    cells = table_cells(result)
    assert cells[(("site", "A"), ("sex", "F"))].display == "<10"
    for site in "ABC":  # where a whole row is visible, it adds up
        row = [cells[(("site", site), ("sex", x))].value for x in "FM"]
        if None not in row and cells[(("site", site), None)].value is not None:
            assert sum(row) == cells[(("site", site), None)].value
    assert cells[(None, None)].value == 253


def test_breakdowns_in_json_have_strata_cells_and_margins():
    result = released(sites(A=30, B=40), breakdowns=(Breakdown(("site",)),)).to_dict()
    (table,) = result["breakdowns"]
    assert table["strata"] == ["site"]
    assert table["cells"] == [{"strata": {"site": "A"}, "value": 30, "display": "30"},
                              {"strata": {"site": "B"}, "value": 40, "display": "40"}]
    assert table["margins"] == [{"strata": {}, "value": 70, "display": "70"}]


def test_a_breakdown_needs_its_stratum_in_the_counts():
    with pytest.raises(ValueError, match="no stratum `sex`"):
        released(sites(A=30), breakdowns=(Breakdown(("sex",)),))


# ---- the policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"threshold": 0}, "threshold must be an integer >= 1"),
        ({"threshold": True}, "threshold must be an integer >= 1"),
        ({"threshold": 10.5}, "threshold must be an integer >= 1"),
        ({"rounding_base": 0}, "rounding_base must be an integer >= 1"),
        ({"rounding_base": 25}, "could round to 0"),
        ({"suppress_zero": "yes"}, "suppress_zero must be true or false"),
        ({"complementary": False}, "attrition_differences needs complementary suppression"),
    ],
)
def test_invalid_policies_are_refused(fields, message):
    with pytest.raises(PolicyError, match=message):
        DisclosurePolicy(**fields)


def test_a_run_may_only_make_the_policy_stricter():
    base = DisclosurePolicy(threshold=11, rounding_base=5)
    assert base.tightened(threshold=20, suppress_zero=True).threshold == 20
    assert base.tightened(threshold=None) == base
    for looser in ({"threshold": 10}, {"rounding_base": 2}):
        with pytest.raises(PolicyError, match="only make the disclosure policy stricter"):
            base.tightened(**looser)
    weak = DisclosurePolicy(complementary=False, attrition_differences=False)
    assert weak.tightened(complementary=True).complementary
    assert DisclosurePolicy(rounding_base=1).rounding_base is None


def test_the_policy_is_printed_with_every_result():
    policy = DisclosurePolicy(threshold=11, rounding_base=5).to_dict()
    assert policy == {"name": "small-cell suppression", "threshold": 11, "suppress_zero": False,
                      "rounding_base": 5, "complementary": True, "attrition_differences": True,
                      "small_display": "<11", "complementary_display": ">=11"}
    text = render(released(Q4_LIKE, DisclosurePolicy(threshold=11, rounding_base=5)), "table")
    assert "shown as <11" in text and "multiple of 5" in text


# ---- nothing unprotected reaches a report -------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_output_format_refuses_anything_but_a_protected_result(fmt):
    with pytest.raises(TypeError, match="only takes a ProtectedResult"):
        render({"final": {"value": 3, "display": "3"}}, fmt)
    with pytest.raises(TypeError):
        render(Q4_LIKE, fmt)  # raw counts least of all


def test_a_protected_result_cannot_be_built_or_altered_outside_protect():
    result = released(Q4_LIKE)
    with pytest.raises(UnprotectedResultError):
        ProtectedResult(None, Cell(5, "5"), Cell(5, "5"), (), DisclosurePolicy(), "", {})
    with pytest.raises(UnprotectedResultError):
        dataclasses.replace(result, final=Cell(5, "5"))


def test_the_suppression_pattern_depends_on_true_counts_only():
    artifact, _ = build_artifact(Q4_LIKE)
    statuses = decide(artifact, DisclosurePolicy(rounding_base=10))
    assert statuses == decide(artifact, DisclosurePolicy())
    assert Status.DERIVED in statuses  # persons removed by each rule: protected, never shown
