"""`cohortql count`, `sql`, `concepts` and the Python API on the embedded default (Eunomia)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import cohortql
from cohortql.cli import app
from cohortql.fingerprint import fingerprint
from cohortql.pipeline import compile_source
from cohortql.protect.result import ProtectedResult, UnprotectedResultError
from cohortql.report.counts import render
from tests.conftest import REPO
from tests.test_docs import cli_commands

Q1 = str(REPO / "examples" / "q1_gi_bleed_nsaid.cohort")
Q4 = str(REPO / "examples" / "q4_coronary_events.cohort")


@pytest.fixture(autouse=True)
def _no_configured_database(monkeypatch, tmp_path, eunomia_target):
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    monkeypatch.delenv("COHORTQL_PROFILE", raising=False)  # no profile: the defaults
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


def test_count_json_without_configuration():
    result = CliRunner().invoke(app, ["count", Q1, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["final"] == {"value": 131, "display": "131"}
    assert [step["rule"] for step in document["attrition"]] == [
        "entry", "age 35-45", "recent NSAID", "no prior peptic ulcer"]
    assert [step["value"] for step in document["attrition"]] == [479, 429, 278, 131]
    assert document["attrition"][2]["gain"] == {"value": 61, "display": "61"}
    assert document["policy"]["threshold"] == 10
    assert document["database"]["dialect"] == "duckdb"
    assert document["fingerprint"].startswith("sha256:")


def test_json_on_stdout_is_all_there_is_in_a_new_process():
    """Native libraries share the process's stdout (HiGHS 1.16 prints a banner when a model is
    made): a shell pipeline reading `--format json` must get the document and nothing else."""
    cli = Path(sys.executable).with_name("cohortql")
    done = subprocess.run([str(cli), "count", Q4, "--format", "json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["final"]["value"] == 13
    assert '"<10"' in done.stdout  # a small count: the intruder's linear programs ran


def test_count_table_names_the_database_and_suppresses():
    result = CliRunner().invoke(app, ["count", Q4])
    assert result.exit_code == 0, result.output
    assert "Eunomia demo CDM" in result.stderr
    assert "<10" in result.stdout  # the gain of "age 40-79" is 5 persons
    assert "event or revascularisation" in result.stdout


def test_count_csv_and_markdown():
    csv_out = CliRunner().invoke(app, ["count", Q4, "--format", "csv"]).stdout
    rows = list(csv.DictReader(io.StringIO(csv_out)))
    assert [r["persons"] for r in rows] == ["191", "112", "13"]  # numbers, in a numeric column
    assert [r["persons_display"] for r in rows] == ["191", "112", "13"]
    assert (rows[1]["gain_if_dropped"], rows[1]["gain_display"]) == ("", "<10")  # suppressed: no number
    assert (rows[2]["gain_if_dropped"], rows[2]["gain_display"]) == ("99", "99")
    assert (rows[0]["gain_if_dropped"], rows[0]["gain_display"]) == ("", "")  # the entry step has no gain
    markdown = CliRunner().invoke(app, ["count", Q4, "--format", "markdown"]).stdout
    assert "| age 40-79 | 112 | 58.6% | <10 |" in markdown


def test_python_api_returns_the_protected_result():
    result = cohortql.count(Q4)
    assert isinstance(result, ProtectedResult)
    frame = result.attrition_frame()
    assert list(frame["persons"]) == [191, 112, 13]
    assert frame["gain_if_dropped"].isna().tolist() == [True, True, False]  # entry step, suppressed gain
    text_result = cohortql.count((REPO / "examples" / "q2_recurrent_uti.cohort").read_text())
    assert text_result.final.value == 27


def test_python_api_breakdown_frame_is_the_protected_table():
    result = cohortql.count(Q4, by=["sex", "age10"], cache=False)
    frame = result.breakdown_frame("sex", "age10")
    (table,) = json.loads(render(result, "json"))["breakdowns"]
    assert len(frame) == len(table["cells"]) + len(table["margins"])
    interior = frame[~frame["margin"]]
    shown = {(c["strata"]["sex"], c["strata"]["age10"]): c["value"] for c in table["cells"]}
    assert {(r.sex, r.age10): (None if pd.isna(r.persons) else r.persons) for r in interior.itertuples()} == shown
    hidden = frame[frame["display"].str.startswith(("<", ">="))]
    assert len(hidden) and hidden["persons"].isna().all()  # a suppressed count is missing, never a number
    assert frame.equals(result.breakdown_frame())  # the only table
    with pytest.raises(KeyError, match="the breakdowns: sex x age10"):
        result.breakdown_frame("site")
    with pytest.raises(ValueError, match="did you mean `sex`"):
        cohortql.count(Q4, by=["sexx"])


def test_report_layer_refuses_unprotected_results():
    with pytest.raises(UnprotectedResultError):
        ProtectedResult(None, None, None, (), None, "", {})
    with pytest.raises(TypeError):
        render({"final": 3}, "json")


def test_fingerprint_ignores_cosmetics_but_not_meaning():
    from cohortql.diagnostics import Source

    text = (REPO / "examples" / "q3_new_af_warfarin.cohort").read_text()
    base = fingerprint(compile_source(Source("a", text)).plan)
    cosmetic = text.replace('"warfarin" with', '"Coumadin" with').replace("# Q3", "# another comment")
    cosmetic = cosmetic.replace("Warfarin", "VKA").replace("entry first", "entry   first")
    assert fingerprint(compile_source(Source("b", cosmetic)).plan) == base
    for change in (("30 days after", "31 days after"), ("1310149", "1310150"), ("age >= 65", "age >= 66")):
        changed = text.replace(*change)
        assert fingerprint(compile_source(Source("c", changed)).plan) != base, change


def test_sql_command_prints_each_dialect():
    for dialect in ("duckdb", "postgres", "spark", "bigquery", "snowflake", "tsql", "trino"):
        result = CliRunner().invoke(app, ["sql", Q1, "--dialect", dialect])
        assert result.exit_code == 0, result.output
        assert "observation_period" in result.stdout
    assert CliRunner().invoke(app, ["sql", Q1, "--dialect", "oracle"]).exit_code == 2


def test_concepts_lists_resolved_concepts_with_counts():
    result = CliRunner().invoke(app, ["concepts", Q1])
    assert result.exit_code == 0, result.output
    assert "Gastrointestinal hemorrhage" in result.stdout
    assert "Ibuprofen 200 MG Oral Tablet" in result.stdout  # a descendant of ibuprofen, found by expansion
    assert "479" in result.stdout  # records of 192671 in condition_occurrence


@pytest.mark.parametrize(
    "args, message",
    [
        (["--db", "duckdb:////nonexistent/cdm.duckdb"], "no DuckDB file"),
        (["--cdm-schema", "nosuch"], "schema not found: nosuch"),
        (["--db", "mysql://root@localhost/x"], "unsupported database kind"),
        (["--db", "not a url"], "not valid"),
    ],
)
def test_database_errors_are_one_line_with_a_hint(args, message):
    result = CliRunner().invoke(app, ["count", Q1, *args])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.output


def test_bad_schema_name_is_a_usage_error():
    result = CliRunner().invoke(app, ["count", Q1, "--cdm-schema", "cdm; DROP TABLE person"])
    assert result.exit_code == 2
    assert "invalid schema name" in result.stderr


@pytest.mark.parametrize("command", cli_commands())
def test_help_is_plain_and_shows_no_placeholder_for_a_flag(command):
    result = CliRunner().invoke(app, [*command.split(), "--help"], prog_name="cohortql")
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output and "╭" not in result.output  # no flag placeholder, no boxes
    assert "Usage: cohortql " + command in result.output
