"""The report's two languages: every message in both, numbers and dates in each language's way."""

from __future__ import annotations

import datetime
import re
import string

import pytest

from cohortql import pipeline
from cohortql.diagnostics import Source
from cohortql.report.document import concept_labels
from cohortql.report.explain import explain_plan
from cohortql.report.feasibility import build_report
from cohortql.report.i18n import EXPLAIN, MESSAGES, Language
from tests.conftest import REPO

EXAMPLES = sorted((REPO / "examples").glob("q*.cohort"))
# English words of the definition text; none may remain in the French one (user text taken out).
ENGLISH = ("record", " the ", "index date", "Rule ", "Entry", "Concept sets", "observation period", "at least",
           " days", " with ", " before ", " after ", "Breakdown", "concept set", "its descendants", "without",
           " and ", " or ")

# Words French and English happen to share.
SAME_IN_BOTH = {"attrition", "persons", "site", "total", "age_band", "place_site", "provenance"}


def _fields(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name}


def test_every_message_is_in_both_languages_with_the_same_placeholders():
    assert MESSAGES["en"].keys() == MESSAGES["fr"].keys()
    for key, english in MESSAGES["en"].items():
        assert _fields(english) == _fields(MESSAGES["fr"][key]), key
        assert MESSAGES["fr"][key] != english or key in SAME_IN_BOTH, key


def test_every_definition_phrase_is_in_both_languages_with_the_same_placeholders():
    assert EXPLAIN["en"].keys() == EXPLAIN["fr"].keys()
    for key, english in EXPLAIN["en"].items():
        french = EXPLAIN["fr"][key]
        assert type(english) is type(french), key
        if isinstance(english, str):
            assert _fields(english) == _fields(french), key


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_the_french_definition_has_no_english_phrase_left(path):
    compiled = pipeline.compile_source(pipeline.read_source(path))
    french = explain_plan(compiled.plan, concept_labels(compiled.definition), lang="fr")
    assert french != explain_plan(compiled.plan, concept_labels(compiled.definition))
    text = re.sub(r"«[^»]*»", "", french)  # rule names and concept labels: the author's words
    for line in compiled.plan.metadata:
        text = text.replace(line[1], "")
    for codeset in compiled.plan.codesets:
        text = re.sub(rf"\b{re.escape(codeset.name)}\b", "", text)
    assert [word for word in ENGLISH if word in text] == [], text


def test_the_french_definition_formats_numbers_and_dates_in_french():
    source = Source("t.cohort", "concepts X = {1}\nconcepts Y = {2}\nentry first condition X\n"
                    "include \"hba1c\": at least 1 measurement Y with value between 7.5 and 1234.5 within 90 days "
                    "before index\ninclude \"recent\": index date >= 2024-03-01\n")
    text = explain_plan(pipeline.compile_source(source).plan, lang="fr")
    assert "entre 7,5 et 1\u202f234,5" in text
    assert "le 1 mars 2024 ou après" in text
    english = explain_plan(pipeline.compile_source(source).plan)
    assert "between 7.5 and 1234.5" in english and "on or after 2024-03-01" in english


def test_numbers_and_dates_are_formatted_per_language():
    en, fr = Language("en"), Language("fr")
    assert (en.number(1234), fr.number(1234)) == ("1,234", "1\u202f234")
    assert (en.number(0.555, 2), fr.number(1234.5, 1)) == ("0.56", "1\u202f234,5")
    assert (en.percent(0.35), fr.percent(0.35)) == ("35%", "35\u00a0%")
    day = datetime.date(2025, 12, 31)
    assert (en.date(day), fr.date(day)) == ("December 31, 2025", "31 décembre 2025")
    assert (en.period("2025-03"), fr.period("2025-03")) == ("Mar 2025", "mars 2025")
    assert (en.period("2025-Q1"), fr.period("2025-Q1")) == ("Q1 2025", "T1 2025")
    with pytest.raises(ValueError, match="unknown language"):
        Language("de")


def test_the_definition_text_carries_the_concept_labels_it_wrote():
    compiled = pipeline.compile_source(pipeline.read_source(REPO / "examples" / "q7_type2_diabetes_trial.cohort"))
    text = explain_plan(compiled.plan, concept_labels(compiled.definition))
    assert '- HbA1c: 3004410 "Hemoglobin A1c/Hemoglobin.total in Blood" without descendants' in text
    assert '201826 "Type 2 diabetes mellitus" and its descendants' in text
    assert explain_plan(compiled.plan) == explain_plan(compiled.plan, {})  # no labels given: none shown


def test_the_report_takes_only_a_protected_result():
    with pytest.raises(TypeError, match="ProtectedResult"):
        build_report({"final": {"value": 3}}, None, metadata={}, definition="", cdm_source=None, answered_by="")
