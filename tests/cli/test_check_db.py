"""A concept id the vocabulary does not hold matches no record: `check --db` reports it as an
error E401 at the id, and `count` / `report` warn, naming it. Which ids Eunomia holds is read from
its concept table directly, not through cohortql."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from cohortql.cli import app
from tests.conftest import REPO

runner = CliRunner()
# 192671 (GI hemorrhage) is in Eunomia; 999999999 is in no vocabulary; 8554999 is no unit; 92019 no visit.
DEFINITION = """concepts Bleed = {192671 "Gastrointestinal hemorrhage" with descendants, exclude 999999999 "typo"}
concepts Hb = {3000963 "Hemoglobin"}
entry first condition Bleed with visit type 92019
include "hb": measurement Hb with unit 8554999 any time
include "status": condition Bleed with condition status 32902 on index
"""
IDS = (192671, 999999999, 3000963, 92019, 8554999, 32902)


@pytest.fixture
def eunomia(eunomia_target, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("COHORTQL_PROFILE", raising=False)
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    path = eunomia_target.database_file
    with duckdb.connect(path, read_only=True) as con:
        known = {row[0] for row in con.execute(f"SELECT concept_id FROM concept WHERE concept_id IN {IDS}").fetchall()}
    return f"duckdb:///{path}", known


def _definition(tmp_path):
    path = tmp_path / "unknown.cohort"
    path.write_text(DEFINITION, encoding="utf-8")
    return path


def _expected_unknown(known):
    lines = DEFINITION.split("\n")
    expected = []
    for concept_id in IDS:  # the order written is the order of IDS
        if concept_id not in known:
            line = next(i for i, text in enumerate(lines, start=1) if str(concept_id) in text)
            expected.append((concept_id, line, lines[line - 1].index(str(concept_id)) + 1))
    return expected


def test_check_db_reports_every_unknown_id_at_its_place(eunomia, tmp_path):
    url, known = eunomia
    assert 192671 in known and 999999999 not in known  # the fixture is what this test assumes
    path = _definition(tmp_path)
    assert runner.invoke(app, ["check", str(path)]).exit_code == 0  # without --db: no database
    result = runner.invoke(app, ["check", "--format", "json", str(path), "--db", url])
    assert result.exit_code == 1, result.output
    errors = json.loads(result.stdout)["errors"]
    assert {e["code"] for e in errors} == {"E401"}
    found = [(int(e["message"].split(" is not")[0].split()[-1]), e["line"], e["column"]) for e in errors]
    assert found == _expected_unknown(known)
    text = runner.invoke(app, ["check", str(path), "--db", url])
    assert "error[E401]: concept 999999999 is not in the vocabulary of" in text.stderr


def test_check_db_passes_a_definition_whose_ids_exist(eunomia):
    url, _ = eunomia
    result = runner.invoke(app, ["check", str(REPO / "examples" / "q1_gi_bleed_nsaid.cohort"), "--db", url])
    assert result.exit_code == 0, result.output
    assert "every concept id in the vocabulary of" in result.stderr


def test_schema_options_without_db_are_usage_errors(tmp_path):
    result = runner.invoke(app, ["check", str(_definition(tmp_path)), "--vocab-schema", "vocab"])
    assert result.exit_code == 2 and "go with --db" in result.stderr


def test_counting_warns_naming_each_unknown_id(eunomia, tmp_path):
    url, known = eunomia
    path = _definition(tmp_path)
    result = runner.invoke(app, ["count", str(path), "--db", url, "--no-cache", "--format", "json"])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == len(_expected_unknown(known))
    for (concept_id, line, column), warning in zip(_expected_unknown(known), warnings, strict=True):
        assert f" {concept_id} is not in the vocabulary" in warning and f"{path}:{line}:{column}" in warning
    json.loads(result.stdout)  # the result itself is unchanged on stdout
    clean = runner.invoke(app, ["count", str(REPO / "examples" / "q1_gi_bleed_nsaid.cohort"), "--db", url])
    assert "warning:" not in clean.stderr
