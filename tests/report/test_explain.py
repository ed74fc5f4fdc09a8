"""`cohortql explain`: the plain-English reading of a plan, pinned word for word where it matters."""

import pytest
from typer.testing import CliRunner

from cohortql import pipeline
from cohortql.cli import app
from cohortql.diagnostics import Source
from cohortql.report.explain import explain_plan
from cohortql.resolve import plan
from tests.conftest import EXAMPLES
from tests.conftest import REPO as ROOT

Q1_EXPLAINED = """\
Title: GI bleeding after recent NSAID use, no prior peptic ulcer
Protocol: FEAS-Q1
Sponsor: Demo sponsor

Concept sets:
- GI_bleed: 192671 and its descendants
- NSAID:
  - 1118084 and its descendants
  - 1124300 and its descendants
  - 1177480 and its descendants
  - 1115008 and its descendants
- Peptic_ulcer: 4027663 without descendants

Entry: each person's first-ever condition record in concept set GI_bleed (192671 and its descendants). \
The index date is that record's start date. \
The record must lie in an observation period with at least 365 days of observation before the index date. \
A person whose first-ever record fails this does not enter; later records are not tried.

Rules, applied in the order written:
Rule 1, include "age 35-45": keep a person who is aged 35 to 45 at the index date \
(year of index minus year of birth).
Rule 2, include "recent NSAID": keep a person who has at least 1 drug exposure record in concept set NSAID \
with start date from 60 days before to 1 day before the index date, inside the index's observation period.
Rule 3, include "no prior peptic ulcer": keep a person who has no condition record in concept set Peptic_ulcer \
with start date any time before the index date (from the start of the observation period to 1 day before).

Breakdown: none.
"""

HEADER = """
concepts X = {1 with descendants, 2, exclude 3}
concepts Y = {4}
concepts Positive = {45884084}
"""


def explain(body: str, header: str = HEADER, entry: str = "entry first condition X") -> str:
    source = Source("<test>", f"{header}\n{entry}\n{body}\n")
    return explain_plan(pipeline.compile_source(source).plan)


def rule_line(criterion: str, kind: str = "include") -> str:
    """The explanation of one rule, from its verb on (several lines for groups)."""
    text = explain(f'{kind} "r": {criterion}')
    return text.split(f'Rule 1, {kind} "r": ', 1)[1].split("\n\nBreakdown:")[0]


def test_q1_explained_word_for_word():
    compiled = pipeline.compile_source(pipeline.read_source(ROOT / "examples" / "q1_gi_bleed_nsaid.cohort"))
    assert explain_plan(compiled.plan) == Q1_EXPLAINED


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("within 60 days before index",
         "from 60 days before to 1 day before the index date, inside the index's observation period"),
        ("within 30 days after index", "from 1 day after to 30 days after the index date, inside"),
        ("within 7 days of index", "from 7 days before to 7 days after the index date, inside"),
        ("within 1 day before index", "exactly 1 day before the index date, inside"),
        ("on index", "with start date on the index date, inside the index's observation period"),
        ("from index to 30 days after index", "from the index date to 30 days after, inside"),
        ("from 90 days before index to index", "from 90 days before to the index date, inside"),
        ("from 10 days after index to 20 days after index", "from 10 days after to 20 days after the index date"),
        ("any time before index",
         "any time before the index date (from the start of the observation period to 1 day before)"),
        ("any time after index",
         "any time after the index date (from 1 day after to the end of the observation period)"),
        ("any time", "at any time in the index's observation period"),
        ("any time ignoring observation period", "at any time, ignoring observation periods"),
        ("any time before index ignoring observation period",
         "any time before the index date, ignoring observation periods"),
        ("any time after index ignoring observation period",
         "any time after the index date, ignoring observation periods"),
        ("within 60 days before index ignoring observation period",
         "from 60 days before to 1 day before the index date, ignoring observation periods"),
    ],
)
def test_window_shapes(window, expected):
    assert expected in rule_line(f"condition Y {window}")


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (plan.Window(None, 0), "from the start of the observation period to the index date"),
        (plan.Window(5, None), "from 5 days after the index date to the end of the observation period"),
        (plan.Window(None, 30, within_observation=False), "any time up to 30 days after the index date, ignoring"),
        (plan.Window(-3, None, within_observation=False), "any time from 3 days before the index date on, ignoring"),
    ],
)
def test_open_windows_the_grammar_cannot_write_yet(window, expected):
    event = plan.EventQuery("condition", 0)
    codesets = (plan.Codeset(0, "X", (plan.ConceptItem(1, False, False),), ()),)
    rule = plan.Rule("r", "include", plan.Occurs(event, ">=", 1, False, window))
    assert expected in explain_plan(plan.Plan((), codesets, plan.Entry("first", (event,), 0, 0), (rule,)))


@pytest.mark.parametrize(
    ("occurrence", "expected"),
    [
        ("", "has at least 1 condition record in concept set Y with start date"),
        ("at least 1 ", "has at least 1 condition record in concept set Y with start date"),
        ("at least 2 ", "has at least 2 condition records in concept set Y"),
        ("at most 1 ", "has at most 1 condition record in concept set Y"),
        ("exactly 3 ", "has exactly 3 condition records in concept set Y"),
        ("exactly 0 ", "has no condition record in concept set Y with start date"),
        ("no ", "has no condition record in concept set Y with start date"),
        ("at least 2 distinct days of ", "has condition records in concept set Y on at least 2 distinct days, with"),
        ("exactly 1 distinct days of ", "has condition records in concept set Y on exactly 1 distinct day, with"),
    ],
)
def test_count_forms(occurrence, expected):
    assert expected in rule_line(f"{occurrence}condition Y on index")


def test_exclusion_rules_remove():
    assert rule_line("condition Y on index", kind="exclude").startswith("remove a person who has at least 1")


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("measurement Y with value >= 13",
         "measurement record in concept set Y, with a value of at least 13 (a record with no value never matches), "
         "dated on the index date"),
        ("measurement Y with value between 7.0 and 10.5", "with a value between 7 and 10.5"),
        ("measurement Y with value > 600", "with a value of more than 600"),
        ("measurement Y with value != 2", "with a value other than 2"),
        ('measurement Y with unit "%", "mg/dL", 9999',
         "with unit % (concept 8554), mg/dL (concept 8840) or concept 9999"),
        ("observation Y with value concept Positive", "with a value in concept set Positive"),
        ("condition Y with visit type inpatient", "recorded during a visit of type inpatient (concept 9201)"),
        ("visit with visit type emergency", "visit record of any concept, of type emergency (concept 9203)"),
        ("condition era Y with duration >= 90 days",
         "condition era record in concept set Y, lasting at least 90 days (end date minus start date), "
         "with start date"),
        ("drug Y with days supply between 30 and 90", "with a days supply between 30 and 90 days"),
        ("drug Y with days supply >= 30", "with a days supply of at least 30 days"),
        ("death", "death record of any concept dated on the index date"),
    ],
)
def test_attributes(event, expected):
    assert expected in rule_line(f"{event} on index")


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        ("age between 35 and 45",
         "keep a person who is aged 35 to 45 at the index date (year of index minus year of birth)."),
        ("age >= 65", "is aged 65 or older at the index date"),
        ("age < 18", "is younger than 18 at the index date"),
        ("sex female", "is recorded as female (gender concept 8532)."),
        ("index date between 2024-01-01 and 2025-12-31",
         "has an index date between 2024-01-01 and 2025-12-31 (both included)."),
        ("index date >= 2020-01-01", "has an index date on or after 2020-01-01."),
    ],
)
def test_person_criteria(criterion, expected):
    assert expected in rule_line(criterion)


def test_groups_nest_as_indented_lists():
    text = rule_line("any of (sex male, all of (age >= 18, not condition Y on index), at least 2 of (age >= 1, "
                     "age >= 2, age >= 3))")
    assert text == (
        "keep a person who meets any of the following:\n"
        "  - is recorded as male (gender concept 8507)\n"
        "  - meets all of the following:\n"
        "    - is aged 18 or older at the index date (year of index minus year of birth)\n"
        "    - does not meet the following:\n"
        "      - has at least 1 condition record in concept set Y with start date on the index date, "
        "inside the index's observation period\n"
        "  - meets at least 2 of the following:\n"
        "    - is aged 1 or older at the index date (year of index minus year of birth)\n"
        "    - is aged 2 or older at the index date (year of index minus year of birth)\n"
        "    - is aged 3 or older at the index date (year of index minus year of birth)"
    )


def test_concept_sets_list_every_item():
    text = explain("", header=HEADER + 'concepts T2DM = {201826 with descendants, source ICD10CM "E11%"}')
    assert "- X:\n  - 1 and its descendants\n  - 2 without descendants\n  - excluding 3 without descendants\n" in text
    assert "- Y: 4 without descendants\n" in text
    assert "  - ICD10CM codes matching E11% mapped to standard concepts\n" in text


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("entry first condition X\nrequire observation 365 days before and 30 days after index",
         "The record must lie in an observation period with at least 365 days of observation before "
         "and at least 30 days after the index date."),
        ("entry first condition era X with duration >= 90",
         "The record must lie in an observation period and must be one lasting at least 90 days (end date minus "
         "start date). A person whose first-ever record fails this does not enter; later records are not tried."),
        ("entry earliest condition era X with duration >= 90 days\nrequire observation 30 days after index",
         "Entry: each person's earliest condition era record in concept set X (1 and its descendants, "
         "2 without descendants, excluding 3 without descendants) lasting at least 90 days (end date minus start "
         "date) and lying in an observation period with at least 30 days of observation after its start date. "
         "The index date is that record's start date."),
        ("entry all measurement Y with value < 5",
         "Entry: every measurement record in concept set Y (4 without descendants) with a value of less than 5 "
         "(a record with no value never matches) and lying in an observation period; a person may enter more "
         "than once."),
    ],
)
def test_entry_modes(entry, expected):
    assert expected in explain("", entry=entry)


def test_metadata_rules_and_breakdown():
    text = explain('breakdown by site, age10', header='title "T"\nsponsor "S"\n' + HEADER)
    assert text.startswith("Title: T\nSponsor: S\n\nConcept sets:\n")
    assert "Rules: none; every person with an entry is in the cohort." in text
    assert text.endswith("\n\nBreakdown: by site and 10-year age band.\n")


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_cli_explains_every_example(path):
    result = CliRunner().invoke(app, ["explain", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Title: ")
    assert "\nEntry: " in result.stdout and "\nBreakdown: " in result.stdout


def test_examples_are_all_here():
    assert len(EXAMPLES) == 9


def test_cli_explain_exit_codes(tmp_path):
    bad = tmp_path / "bad.cohort"
    bad.write_text("entry first condition Nope\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["explain", str(bad)])
    assert result.exit_code == 1 and "E101" in result.output
    assert CliRunner().invoke(app, ["explain", str(tmp_path / "missing.cohort")]).exit_code == 2


def test_qualify_is_explained_before_the_rules():
    text = explain('include "r": age >= 18', entry="entry all condition X\nqualify earliest: no measurement Y on index")
    assert (
        "\n\nQualifying entries, tested before the rules (the attrition starts with them); each person's earliest "
        "qualifying event is kept (the lowest record id on a tie): an entry event qualifies when the person has no "
        "measurement record in concept set Y dated on the index date, inside the index's observation period.\n\n"
        "Rules, applied"
    ) in text
    # With one entry event per person there is nothing to choose: no word about the earliest.
    one = explain("", entry="entry earliest condition X\nqualify earliest: age >= 18")
    assert "tested before the rules (the attrition starts with them): an entry event qualifies" in one


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("ending within 30 days before index end",
         "with end date from 30 days before to 1 day before the index record's end date, inside the index's "
         "observation period"),
        ("starting from all days before index to index and ending from index to all days after index",
         "with start date from the start of the observation period to the index date, and with end date from the "
         "index date to the end of the observation period"),
    ],
)
def test_windows_on_the_end_dates(window, expected):
    assert expected in rule_line(f"condition Y {window}")


def test_a_record_without_an_end_date_ends_the_day_after():
    assert "with end date (the day after its date) on the index date" in rule_line("measurement Y ending on index")


RECORD_HEADER = HEADER + 'concepts Lab = {5}\n'


@pytest.mark.parametrize(
    ("attribute", "english", "french"),
    [
        ("with start date between 2010-01-01 and 2015-12-31",
         "whose start date is between 2010-01-01 and 2015-12-31 (both included)",
         "dont la date de début est comprise entre le 1 janvier 2010 et le 31 décembre 2015 (inclus)"),
        ("with start date > 2010-01-01", "whose start date is after 2010-01-01",
         "dont la date de début est après le 1 janvier 2010"),
        ("with age >= 18", "of a person aged 18 or older at its start date (its year minus year of birth)",
         "d’une personne qui a 18 ans ou plus à sa date de début (son année moins année de naissance)"),
        ("with age between 18 and 65", "of a person aged 18 to 65 at its start date",
         "d’une personne qui a de 18 à 65 ans à sa date de début"),
        ("with sex female", "of a female person (gender concept 8532)",
         "d’une personne de sexe féminin (concept de genre 8532)"),
        ("with range low between 3 and 5",
         "with a normal range low between 3 and 5 (a record without one never matches)",
         "avec une limite basse de la normale comprise entre 3 et 5"),
        ("with range high < 3", "with a normal range high of less than 3",
         "avec une limite haute de la normale de moins de 3"),
        ("with range high ratio > 1.5",
         "with a value of more than 1.5 times its normal range high (value / range high;",
         "avec une valeur de plus de 1,5 fois sa limite haute de la normale"),
        ("with range low ratio <= 0.5", "with a value of at most 0.5 times its normal range low",
         "avec une valeur d’au plus 0,5 fois sa limite basse de la normale"),
    ],
)
def test_record_attributes(attribute, english, french):
    rule = f'include "r": measurement Lab {attribute} on index'
    compiled = pipeline.compile_source(Source("<test>", f"{RECORD_HEADER}\nentry first condition X\n{rule}\n")).plan
    assert english in explain_plan(compiled)
    assert french in explain_plan(compiled, lang="fr")
