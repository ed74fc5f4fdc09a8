"""compare, whatif, sweep, impact and watch: each variant's released count is the cold count of
that variant's text (threshold 1: every true number is released), and bad input is refused early."""

from __future__ import annotations

from pathlib import Path

import pytest

from cohortql import pipeline
from cohortql.diagnostics import CohortQLError, Source
from cohortql.execute.runner import run_cohort
from cohortql.protect import DisclosurePolicy
from cohortql.render import render
from cohortql.whatif import app
from cohortql.whatif import variants as edit
from cohortql.whatif.app import true_impacts
from cohortql.whatif.engine import CachedCounter
from cohortql.whatif.store import VectorCache
from cohortql.whatif.watch import watch
from tests.conftest import REPO

Q1 = REPO / "examples" / "q1_gi_bleed_nsaid.cohort"
Q7 = REPO / "examples" / "q7_type2_diabetes_trial.cohort"
EVERYTHING = DisclosurePolicy(threshold=1, complementary=False, attrition_differences=False)


def cold_steps(source: Source, target) -> list[int]:
    """Persons after the entry and each rule, from the one pass (the reference)."""
    from cohortql.protect.protector import attrition_counts

    plan = pipeline.compile_source(source).plan
    return attrition_counts(run_cohort(render(plan, target.cdm_schema, target.vocab_schema), target))


def released_steps(variant) -> list[int]:
    return [step.persons.value for step in variant.attrition]


@pytest.fixture
def counter(eunomia_target, tmp_path):
    return CachedCounter(eunomia_target, VectorCache(tmp_path))


def test_whatif_variants_are_counted_as_their_texts(counter, eunomia_target):
    source = pipeline.read_source(Q1)
    setting = "age 35-45: age between 30 and 50"
    released = app.whatif(source, ["no prior peptic ulcer"], [setting], counter, EVERYTHING)
    (written, variant) = released.variants
    assert released_steps(written) == cold_steps(source, eunomia_target)
    expected = edit.set_rule(edit.drop_rule(source, "no prior peptic ulcer"), "age 35-45", "age between 30 and 50")
    assert list(edit.rules_of(expected)) == ["age 35-45", "recent NSAID"] and "age between 30 and 50" in expected.text
    assert released_steps(variant) == cold_steps(expected, eunomia_target)
    assert [s.rule for s in variant.attrition] == ["entry", "age 35-45", "recent NSAID"]
    each = app.whatif(source, ["no prior peptic ulcer"], [setting], counter, EVERYTHING, each=True)
    assert [v.label for v in each.variants] == ["as written", 'drop "no prior peptic ulcer"', f"set {setting}"]


def test_compare_lines_up_files(counter, eunomia_target, tmp_path):
    source = pipeline.read_source(Q1)
    other = tmp_path / "other.cohort"
    other.write_text(edit.drop_rule(source, "recent NSAID").text)
    released = app.compare([source, pipeline.read_source(other)], counter, EVERYTHING)
    assert [released_steps(v) for v in released.variants] == [
        cold_steps(source, eunomia_target), cold_steps(pipeline.read_source(other), eunomia_target)]
    frame = released.frame()
    assert list(frame["variant"].unique()) == [str(Q1), str(other)]


def test_sweep_counts_each_value(counter, eunomia_target):
    source = pipeline.read_source(Q1)
    result = app.sweep(source, "age 35-45", "40..50/5", counter, EVERYTHING)
    assert result.number == "45" and [str(v) for v in result.values] == ["40", "45", "50"]
    for value, cell in result.finals():
        varied = Source("v", source.text.replace("age between 35 and 45", f"age between 35 and {value}"))
        assert cell.value == cold_steps(varied, eunomia_target)[-1]
    assert result.released.variants[-1].label == "as written"
    assert counter.computed_tests <= 3 + 3  # one split statement for the three values, not a count each


def test_impact_rows(counter, eunomia_target):
    source = pipeline.read_source(Q1)
    result = app.impact(source, counter, EVERYTHING)
    final = cold_steps(source, eunomia_target)[-1]
    for row in result.rows:
        without = cold_steps(edit.drop_rule(source, row.rule), eunomia_target)[-1]
        assert row.final_without.value == without and row.gain_if_dropped.value == without - final
    exact = {i.rule: i for i in true_impacts(counter.vectors([pipeline.compile_source(source).plan])[0][0])}
    assert [row.shapley.value for row in result.rows] == [round(exact[row.rule].shapley) for row in result.rows]
    assert [row.alone.value for row in result.rows] == [exact[row.rule].alone for row in result.rows]


def test_a_shapley_value_over_few_persons_is_hidden(counter):
    policy = DisclosurePolicy(threshold=20)
    source = pipeline.read_source(REPO / "examples" / "q3_new_af_warfarin.cohort")
    result = app.impact(source, counter, policy)
    exact = true_impacts(counter.vectors([pipeline.compile_source(source).plan])[0][0])
    assert any(policy.is_small(i.removes) for i in exact) and any(not policy.is_small(i.removes) for i in exact)
    for row, truth in zip(result.rows, exact, strict=True):
        assert (row.shapley.value is None) == policy.is_small(truth.removes)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s: edit.drop_rule(s, "recent NSAIDs"), 'no rule named "recent NSAIDs"'),
        (lambda s: edit.split_setting(s, "age 35-45 age between 1 and 2"), "--set needs `rule: criterion`"),
        (lambda s: edit.parse_range("85..65/5"), "is not a range"),
        (lambda s: edit.choose_number(s, "age 35-45", edit.parse_range("10..20"), None), "which one to vary"),
        (lambda s: edit.choose_number(s, "age 35-45", [1], 3), "out of range"),
    ],
)
def test_bad_variants_are_refused_with_a_reason(call, message):
    with pytest.raises(edit.VariantError, match=message) as caught:
        call(pipeline.read_source(Q1))
    assert caught.value.hint or "which" not in message


def test_a_rule_without_a_number_cannot_be_swept():
    source = pipeline.read_source(Q7)
    with pytest.raises(edit.VariantError, match='rule "acute pancreatitis ever" has no number to vary'):
        edit.choose_number(source, "acute pancreatitis ever", edit.parse_range("1..3"), None)


def test_drop_of_an_unknown_rule_suggests_the_closest(counter):
    with pytest.raises(edit.VariantError) as caught:
        app.whatif(pipeline.read_source(Q1), ["recent NSAIDs"], [], counter)
    assert caught.value.hint == 'did you mean "recent NSAID"?'


def test_a_bad_criterion_is_a_definition_error_pointing_at_it(counter):
    with pytest.raises(CohortQLError) as caught:
        app.whatif_sources(pipeline.read_source(Q1), [], ["age 35-45: age betwen 30 and 50"])
    shown = str(caught.value)
    assert "[set \"age 35-45\"]" in shown and "age betwen 30 and 50" in shown and "^^^^^^" in shown


def test_watch_recounts_on_save_and_keeps_watching_through_errors(counter, tmp_path):
    path = tmp_path / "trial.cohort"
    original = Q1.read_text()
    path.write_text(original)
    shown: list[str] = []
    script = [
        lambda: path.write_text(original.replace("age between 35 and 45", "age between 35 and 55")),
        lambda: None,  # nothing changed: no recount
        lambda: path.write_text(original.replace("age between", "age betwen")),
        lambda: path.unlink(),
        lambda: path.write_text(original),
    ]

    def sleep(_seconds):
        script.pop(0)()

    def recount(previous, current):
        pairs = [("now", current)] if previous is None else [("before", previous), ("now", current)]
        released = app.release_sources(pairs, counter, EVERYTHING)
        return " | ".join(f"{v.label}={v.final.value}" for v in released.variants)

    def describe(error, _source):
        return f"ERROR {type(error).__name__}"

    watch(Path(path), recount, shown.append, describe, interval=0, iterations=6, sleep=sleep)
    first = cold_steps(pipeline.read_source(Q1), counter.target)[-1]
    wider = cold_steps(Source("w", original.replace("age between 35 and 45", "age between 35 and 55")),
                       counter.target)[-1]
    assert shown == [
        f"now={first}",
        f"before={first} | now={wider}",
        "ERROR CohortQLError",
        f"{path}: no such file (deleted?); watching for it to come back\n",
        f"before={wider} | now={first}",
    ]
