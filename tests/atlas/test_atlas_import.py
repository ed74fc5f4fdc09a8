"""The importer and exporter: round trips, what each Circe part becomes, and bad input (a clear
error with the JSON path, exit 1, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cohortql import pipeline
from cohortql.atlas import AtlasError, import_circe
from cohortql.atlas.export import export_circe
from cohortql.cli import app
from cohortql.fingerprint import fingerprint
from cohortql.fixtures import tiny
from cohortql.format import format_definition
from cohortql.parse import parse
from tests.conftest import EXAMPLES, REPO

PHENOTYPE = REPO / "tests" / "atlas" / "phenotypes" / "20.json"
runner = CliRunner()


def _export(path: Path) -> dict:
    compiled = pipeline.compile_source(pipeline.read_source(path))
    return export_circe(compiled.definition, compiled.plan, str(path))


def _without_comments(text: str) -> str:
    definition = parse(text)
    return format_definition(type(definition)(definition.statements))


@pytest.mark.parametrize("path", [p for p in EXAMPLES if not p.name.startswith("q7")], ids=lambda p: p.stem)
def test_import_of_export_is_the_formatted_example(path):
    text = import_circe(json.dumps(_export(path)), "exported.json").text
    assert text == _without_comments(path.read_text(encoding="utf-8"))  # Circe JSON has no comments


@pytest.mark.parametrize("case", tiny.case_paths(), ids=lambda p: p.stem)
def test_import_of_export_means_the_same(case):
    """Every tiny case that has a Circe form comes back with the same plan (the same fingerprint)."""
    compiled = pipeline.compile_source(pipeline.read_source(case))
    try:
        expression = export_circe(compiled.definition, compiled.plan, case.name)
    except AtlasError as error:
        assert {p.code for p in error.problems} == {"E307"}
        return
    again = pipeline.compile_source(pipeline.Source("again", import_circe(json.dumps(expression), "x.json").text))
    assert fingerprint(again.plan) == fingerprint(compiled.plan)  # sets compared by content, not position


def test_source_codes_have_no_circe_form():
    with pytest.raises(AtlasError) as raised:
        _export(next(p for p in EXAMPLES if p.name.startswith("q7")))
    assert "source codes (ICD10CM 'E11%')" in str(raised.value)


def test_imported_text_is_fmt_clean_and_checks(tmp_path):
    out = tmp_path / "20.cohort"
    result = runner.invoke(app, ["import", str(PHENOTYPE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["fmt", "--check", str(out)]).exit_code == 0
    assert runner.invoke(app, ["check", str(out)]).exit_code == 0


@pytest.mark.parametrize("command", [["check"], ["explain"], ["sql"]])
def test_commands_read_circe_json_directly(command):
    result = runner.invoke(app, [*command, str(PHENOTYPE)])
    assert result.exit_code == 0, result.output


def test_webapi_expression_nested_or_as_a_string(tmp_path):
    expression = json.loads(PHENOTYPE.read_text(encoding="utf-8"))
    plain = import_circe(json.dumps(expression), "plain.json").text
    for wrapped in ({"name": "My cohort", "expression": expression},
                    {"name": "My cohort", "expression": json.dumps(expression)}):  # fmt: skip
        text = import_circe(json.dumps(wrapped), "webapi.json").text
        assert not plain.startswith("title") and text == 'title "My cohort"\n\n' + plain


def _problems(document) -> list:
    with pytest.raises(AtlasError) as raised:
        import_circe(document if isinstance(document, str) else json.dumps(document), "bad.json")
    return [(p.code, p.path) for p in raised.value.problems]


def _cohort(**changes) -> dict:
    expression = json.loads(PHENOTYPE.read_text(encoding="utf-8"))
    expression.update(changes)
    return expression


def test_unsupported_feature_names_its_json_path():
    expression = _cohort()
    rule = {"name": "by a cardiologist", "expression": {"Type": "ALL", "CriteriaList": [{
        "Criteria": {"ConditionOccurrence": {"CodesetId": expression["ConceptSets"][0]["id"],
                                             "ProviderSpecialty": [{"CONCEPT_ID": 38004451}]}},
        "StartWindow": {"Start": {"Coeff": -1}, "End": {"Days": 0, "Coeff": 1}}}]}}  # fmt: skip
    expression["InclusionRules"] = [rule]
    assert _problems(expression) == [
        ("E303", "$.InclusionRules[0].expression.CriteriaList[0].Criteria.ConditionOccurrence.ProviderSpecialty")
    ]


def test_report_lists_every_unsupported_feature(tmp_path):
    expression = _cohort(CensorWindow={"StartDate": "2010-01-01"})
    expression["ConceptSets"][0]["expression"]["items"][0]["includeMapped"] = True
    path = tmp_path / "two.json"
    path.write_text(json.dumps(expression), encoding="utf-8")
    first = runner.invoke(app, ["import", str(path)])
    every = runner.invoke(app, ["import", str(path), "--report"])
    assert first.exit_code == every.exit_code == 1
    assert first.output.count("error[E303]") == 1 and "--report lists every" in first.output
    assert every.output.count("error[E303]") == 2
    assert "$.CensorWindow" in every.output and "$.ConceptSets[0].expression.items[0].includeMapped" in every.output


def test_report_lists_what_is_ignored_for_counting(tmp_path):
    path = tmp_path / "ended.json"
    path.write_text(json.dumps(_cohort(EndStrategy={"DateOffset": {"DateField": "StartDate", "Offset": 7}})))
    result = runner.invoke(app, ["import", str(path), "--report"])
    assert result.exit_code == 0
    assert "ignored for counting: EndStrategy at $.EndStrategy" in result.output


@pytest.mark.parametrize(
    ("document", "code", "path"),
    [
        ("{not json", "E301", "$"),
        ("[1, 2]", "E302", "$"),
        ({"items": [{"concept": {"CONCEPT_ID": 1}}]}, "E302", "$"),
        ({"name": "x", "expression": "{oops"}, "E301", "$.expression"),
        ({"ConceptSets": []}, "E302", "$"),
        (_cohort(NewCirceThing=1), "E304", "$.NewCirceThing"),
    ],
)
def test_bad_files(document, code, path):
    assert _problems(document) == [(code, path)]


def _with_first_concept_id(raw: str) -> str:
    """The phenotype's JSON text with its first CONCEPT_ID written as `raw` (any JSON number text)."""
    text = json.dumps(_cohort())
    start = text.index('"CONCEPT_ID": ') + len('"CONCEPT_ID": ')
    end = start + len(str(int(text[start:].split(",")[0].split("}")[0])))
    return text[:start] + raw + text[end:]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("9" * 5000, "a number of 5000 digits"),  # Python's int() refuses past 4,300 digits: a ValueError before
        ("1e400", "overflows a double"),
        ("NaN", "`NaN`"),
        ("-Infinity", "`-Infinity`"),
    ],
)
def test_numbers_no_cohort_holds(raw, message):
    with pytest.raises(AtlasError) as raised:
        import_circe(_with_first_concept_id(raw), "bad.json")
    (problem,) = raised.value.problems
    assert (problem.code, problem.path) == ("E301", "$") and message in problem.message


def test_concept_id_beyond_bigint_is_a_positioned_resolve_error(tmp_path):
    path = tmp_path / "big.json"
    path.write_text(_with_first_concept_id(str(2**63)), encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"error[E135]: concept id {2**63} is too large" in result.output


def test_bidirectional_and_control_characters_name_their_json_path():
    expression = _cohort()
    expression["ConceptSets"][0]["name"] = "Diabetes \u202eevil"
    expression["ConceptSets"][0]["expression"]["items"][0]["concept"]["CONCEPT_NAME"] = "label \x1b[2J"
    expression["InclusionRules"] = [{"name": "rule", "description": "line one\nline \u2067two",
                                     "expression": {"Type": "ALL", "CriteriaList": []}}]
    problems = _problems(expression)
    assert {code for code, _ in problems} == {"E308"}
    assert sorted(path for _, path in problems) == [
        "$.ConceptSets[0].expression.items[0].concept.CONCEPT_NAME", "$.ConceptSets[0].name",
        "$.InclusionRules[0].description",
    ]
    wrapped = {"name": "x", "expression": json.dumps({"title\u200f": 1, **_cohort()})}
    assert _problems(wrapped) == [("E308", "$.expression.title?")]


def test_line_breaks_and_tabs_in_descriptions_import():
    expression = _cohort()
    criterion = {"Criteria": {"ConditionOccurrence": {"CodesetId": expression["ConceptSets"][0]["id"]}},
                 "StartWindow": {"Start": {"Coeff": -1}, "End": {"Days": 1, "Coeff": -1}}}  # fmt: skip
    rule = {"name": "r", "description": "one\r\n\ttwo", "expression": {"CriteriaList": [criterion]}}
    expression["InclusionRules"] = [rule]
    assert "# one\n# two\n" in import_circe(json.dumps(expression), "ok.json").text


def test_unknown_domain_and_attribute_names():
    expression = _cohort()
    codeset_id = expression["ConceptSets"][0]["id"]
    expression["PrimaryCriteria"]["CriteriaList"] = [{"Genome": {"CodesetId": codeset_id}}]
    assert _problems(expression) == [("E304", "$.PrimaryCriteria.CriteriaList[0].Genome")]
    criterion = {"ConditionOccurrence": {"CodesetId": codeset_id, "Severity": 3}}
    expression["PrimaryCriteria"]["CriteriaList"] = [criterion]
    assert _problems(expression) == [("E304", "$.PrimaryCriteria.CriteriaList[0].ConditionOccurrence.Severity")]


def test_missing_concept_set():
    expression = _cohort()
    expression["PrimaryCriteria"]["CriteriaList"] = [{"ConditionOccurrence": {"CodesetId": 99}}]
    assert _problems(expression) == [("E305", "$.PrimaryCriteria.CriteriaList[0].ConditionOccurrence.CodesetId")]


def test_huge_file(tmp_path):
    path = tmp_path / "huge.json"
    path.write_text('{"PrimaryCriteria": {}, "pad": "' + "x" * 21_000_000 + '"}', encoding="utf-8")
    result = runner.invoke(app, ["count", str(path)])
    assert result.exit_code == 1 and "error[E306]" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("command", ["check", "count", "explain", "sql", "import"])
def test_bad_json_through_every_command(command, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, [command, str(path)])
    assert result.exit_code == 1
    assert "error[E301]: not JSON" in result.output and f"{path}: $" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_rule_descriptions_become_comments_above_their_rule():
    expression = _cohort()
    codeset_id = expression["ConceptSets"][0]["id"]
    criterion = {"Criteria": {"ConditionOccurrence": {"CodesetId": codeset_id}},
                 "StartWindow": {"Start": {"Coeff": -1}, "End": {"Days": 1, "Coeff": -1}}}  # fmt: skip
    expression["InclusionRules"] = [
        {"name": "prior", "description": "why this rule\nsecond line", "expression": {"CriteriaList": [criterion]}}
    ]
    text = import_circe(json.dumps(expression), "described.json").text
    assert "# why this rule\n# second line\ninclude \"prior\": " in text
    assert format_definition(parse(text)) == text


def _prior_condition_group(expression: dict) -> dict:
    criterion = {"Criteria": {"ConditionOccurrence": {"CodesetId": expression["ConceptSets"][0]["id"]}},
                 "StartWindow": {"Start": {"Coeff": -1}, "End": {"Days": 1, "Coeff": -1}}}  # fmt: skip
    return {"Type": "ALL", "CriteriaList": [criterion]}


@pytest.mark.parametrize(("limit", "mode"), [("First", "earliest"), ("All", "all")])
def test_additional_criteria_become_the_qualify_stage(limit, mode):
    expression = _cohort(QualifiedLimit={"Type": limit})
    expression["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "All"}
    expression["AdditionalCriteria"] = _prior_condition_group(expression)
    text = import_circe(json.dumps(expression), "qualified.json").text
    name = text.split("concepts ", 1)[1].split(" ", 1)[0]
    assert f"\nqualify {mode}: at least 1 condition {name} any time before index\n" in text
    assert format_definition(parse(text)) == text
    # and back: the same group and limit
    compiled = pipeline.compile_source(pipeline.Source("q.cohort", text))
    exported = export_circe(compiled.definition, compiled.plan, "q.cohort")
    assert exported["QualifiedLimit"] == {"Type": limit}
    assert exported["AdditionalCriteria"]["CriteriaList"][0]["StartWindow"]["End"] == {"Days": 1, "Coeff": -1}


def test_the_latest_qualifying_event_is_rejected():
    expression = _cohort(QualifiedLimit={"Type": "Last"})
    expression["AdditionalCriteria"] = _prior_condition_group(expression)
    assert _problems(expression) == [("E303", "$.QualifiedLimit")]


def test_end_windows_import_with_circe_defaults_and_export_back():
    expression = _cohort()
    group = _prior_condition_group(expression)
    criterion = group["CriteriaList"][0]
    criterion["StartWindow"] = {"Start": {"Coeff": -1}, "End": {"Days": 0, "Coeff": 1}}
    criterion["EndWindow"] = {"Start": {"Days": 0, "Coeff": 1}, "End": {"Coeff": 1}, "UseIndexEnd": True}
    expression["InclusionRules"] = [{"name": "overlap", "expression": group}]
    text = import_circe(json.dumps(expression), "ended.json").text
    # EndWindow without UseEventEnd is on the record's end (Circe's default there)
    assert "starting from all days before index to index and ending from index end to all days after index end" in text
    compiled = pipeline.compile_source(pipeline.Source("e.cohort", text))
    exported = export_circe(compiled.definition, compiled.plan, "e.cohort")["InclusionRules"][0]["expression"]
    window = exported["CriteriaList"][0]
    assert window["StartWindow"]["UseEventEnd"] is False and window["EndWindow"]["UseEventEnd"] is True
    assert window["EndWindow"]["UseIndexEnd"] is True and window["StartWindow"]["UseIndexEnd"] is False


def _rule_on(expression: dict, domain: str, attributes: dict) -> dict:
    """A cohort whose one rule is a record of `domain` with Circe `attributes`, on the index."""
    criterion = {"Criteria": {domain: {"CodesetId": expression["ConceptSets"][0]["id"], **attributes}},
                 "StartWindow": {"Start": {"Days": 0, "Coeff": -1}, "End": {"Days": 0, "Coeff": 1}}}  # fmt: skip
    expression["InclusionRules"] = [{"name": "r", "expression": {"Type": "ALL", "CriteriaList": [criterion]}}]
    return expression


def test_record_attributes_import_and_export_back():
    attributes = {
        "OccurrenceStartDate": {"Op": "bt", "Value": "2010-01-01", "Extent": "2015-12-31"},
        "Age": {"Op": "gte", "Value": 18.9},  # Circe truncates an age to whole years
        "Gender": [{"CONCEPT_ID": 8532, "CONCEPT_NAME": "FEMALE"}],
        "RangeLow": {"Op": "bt", "Value": 0.5, "Extent": 0.7},
        "RangeHighRatio": {"Op": "gt", "Value": 1.123456},  # Circe writes 4 decimals: 1.1235
    }
    expression = _rule_on(_cohort(), "Measurement", attributes)
    text = import_circe(json.dumps(expression), "attributes.json").text
    assert (" with start date between 2010-01-01 and 2015-12-31 with age >= 18 with sex female"
            " with range low between 0.5 and 0.7 with range high ratio > 1.1235 on index\n") in text
    compiled = pipeline.compile_source(pipeline.Source("a.cohort", text))
    again = export_circe(compiled.definition, compiled.plan, "a.cohort")
    body = again["InclusionRules"][0]["expression"]["CriteriaList"][0]["Criteria"]["Measurement"]
    assert body["OccurrenceStartDate"] == attributes["OccurrenceStartDate"]
    assert body["Age"] == {"Op": "gte", "Value": 18} and body["Gender"][0]["CONCEPT_ID"] == 8532
    assert body["RangeLow"] == attributes["RangeLow"] and body["RangeHighRatio"] == {"Op": "gt", "Value": 1.1235}
    assert import_circe(json.dumps(again), "again.json").text == text


def test_era_start_date_and_age_at_start_are_the_record_filters():
    attributes = {"EraStartDate": {"Op": "lt", "Value": "2019-01-01"}, "AgeAtStart": {"Op": "lte", "Value": 65}}
    text = import_circe(json.dumps(_rule_on(_cohort(), "ConditionEra", attributes)), "era.json").text
    assert " with start date < 2019-01-01 with age <= 65 on index\n" in text


@pytest.mark.parametrize(
    ("attributes", "where"),
    [
        ({"Gender": [{"CONCEPT_ID": 8507}, {"CONCEPT_ID": 8532}]}, "Gender"),
        ({"Gender": [{"CONCEPT_ID": 8551}]}, "Gender[0]"),
        ({"OccurrenceStartDate": {"Op": "!bt", "Value": "2010-01-01", "Extent": "2011-01-01"}}, "OccurrenceStartDate"),
        ({"OccurrenceEndDate": {"Op": "gt", "Value": "2010-01-01"}}, "OccurrenceEndDate"),
        ({"RangeLow": {"Op": "!bt", "Value": 1, "Extent": 2}}, "RangeLow.Op"),
    ],
)
def test_record_attributes_without_a_cohortql_form_are_named(attributes, where):
    domain = "ConditionOccurrence" if "OccurrenceEndDate" in attributes else "Measurement"
    path = f"$.InclusionRules[0].expression.CriteriaList[0].Criteria.{domain}.{where}"
    assert _problems(_rule_on(_cohort(), domain, attributes)) == [("E303", path)]


def test_a_range_filter_on_an_observation_is_not_circe_either():
    """Circe's Observation has no RangeLow: a newer-Circe name there (E304), as CohortQL rejects it (E111)."""
    assert _problems(_rule_on(_cohort(), "Observation", {"RangeLow": {"Op": "gt", "Value": 1}}))[0][0] == "E304"
