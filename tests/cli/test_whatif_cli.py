"""The what-if commands on the embedded default (Eunomia): outputs, exit codes, clear errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cohortql
from cohortql.cli import app
from tests.conftest import REPO

Q1 = str(REPO / "examples" / "q1_gi_bleed_nsaid.cohort")
Q7 = str(REPO / "examples" / "q7_type2_diabetes_trial.cohort")


@pytest.fixture(autouse=True)
def _no_configured_database(monkeypatch, tmp_path, eunomia_target):
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    monkeypatch.delenv("COHORTQL_PROFILE", raising=False)  # no profile: the defaults
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


@pytest.fixture
def cache(tmp_path):
    return ["--cache", str(tmp_path / "whatif-cache")]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_count_through_the_cache_prints_what_the_one_pass_prints(cache):
    one_pass = run("count", Q1, "--format", "json", "--no-cache")
    assert one_pass.exit_code == 0, one_pass.output
    for _ in range(2):  # cold cache, then warm
        cached = run("count", Q1, "--format", "json", *cache)
        assert cached.exit_code == 0, cached.output
        assert json.loads(cached.stdout) == json.loads(one_pass.stdout)


def test_whatif_table_states_the_policy(cache):
    result = run("whatif", Q1, "--drop", "no prior peptic ulcer", "--set", "age 35-45: age between 30 and 50", *cache)
    assert result.exit_code == 0, result.output
    assert '[2] drop "no prior peptic ulcer"; set age 35-45: age between 30 and 50' in result.stdout
    assert "(no such rule)" in result.stdout  # the dropped rule, matched by name
    assert "policy: counts from 1 to 9 are shown as <10" in result.stdout
    assert "decided as one release" in result.stdout


def test_whatif_json_and_csv(cache):
    document = json.loads(run("whatif", Q1, "--drop", "recent NSAID", "--format", "json", *cache).stdout)
    assert [v["label"] for v in document["variants"]] == ["as written", 'drop "recent NSAID"']
    assert document["variants"][0]["final"] == {"value": 131, "display": "131"}
    assert document["policy"]["threshold"] == 10
    rows = list(csv.DictReader(io.StringIO(run("whatif", Q1, "--drop", "recent NSAID", "--format", "csv",
                                                  *cache).stdout)))
    assert {r["variant"] for r in rows} == {"1", "2"} and rows[0]["rule"] == "entry"


def test_compare_needs_two_files():
    result = run("compare", Q1)
    assert result.exit_code == 2 and "at least two" in result.output


def test_compare_two_files(cache, tmp_path):
    other = tmp_path / "wider.cohort"
    other.write_text(Path(Q1).read_text().replace("age between 35 and 45", "age between 30 and 50"))
    result = run("compare", Q1, other, *cache)
    assert result.exit_code == 0, result.output
    assert "[2] - [1]" in result.stdout and str(other) in result.stdout


def test_sweep_table_chart_csv_json(cache):
    table = run("sweep", Q1, "--rule", "age 35-45", "--vary", "40..50/5", *cache)
    assert table.exit_code == 0, table.output
    assert "█" in table.stdout and "as written (45): 131 persons" in table.stdout
    rows = list(csv.DictReader(io.StringIO(run("sweep", Q1, "--rule", "age 35-45", "--vary", "40..50/5",
                                                  "--format", "csv", *cache).stdout)))
    assert [r["value"] for r in rows] == ["40", "45", "50"] and rows[1]["final"] == "131"
    document = json.loads(run("sweep", Q1, "--rule", "age 35-45", "--vary", "40,45", "--format", "json",
                              *cache).stdout)
    assert [v["final"]["value"] for v in document["values"]][1] == 131


def test_impact(cache):
    document = json.loads(run("impact", Q1, "--format", "json", *cache).stdout)
    assert [r["rule"] for r in document["rules"]] == ["age 35-45", "recent NSAID", "no prior peptic ulcer"]
    assert document["final"]["value"] == 131
    assert all(r["shapley"]["value"] <= 0 for r in document["rules"])
    shown = run("impact", Q1, *cache).stdout
    assert "shapley value" in shown and "excluded by it alone" in shown


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["whatif", Q1, "--drop", "recent NSAIDs"], 2, 'did you mean "recent NSAID"?'),
        (["whatif", Q1], 2, "nothing to vary"),
        (["whatif", Q1, "--set", "age 35-45 age between 1 and 2"], 2, "--set needs `rule: criterion`"),
        (["whatif", Q1, "--set", "age 35-45: age betwen 1 and 2"], 1, "did you mean `between`?"),
        (["sweep", Q7, "--rule", "acute pancreatitis ever", "--vary", "1..3"], 2, "has no number to vary"),
        (["sweep", Q1, "--rule", "age 35-45", "--vary", "50..40"], 2, "is not a range"),
        (["sweep", Q1, "--rule", "age 35-45", "--vary", "10..20"], 2, "add --number N"),
        (["whatif", "missing.cohort", "--drop", "x"], 2, "no such file"),
    ],
)
def test_bad_input_is_a_clear_error(args, code, message, cache):
    result = run(*args, *cache)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_watch_counts_and_stops_after_its_iterations(cache):
    result = run("watch", Q1, "--iterations", "1", *cache)
    assert result.exit_code == 0, result.output
    assert "count on save" in result.stdout and "131" in result.stdout


def test_a_corrupted_cache_is_a_warning_not_a_failure(cache, tmp_path):
    first = run("count", Q1, "--format", "json", *cache)
    for path in (tmp_path / "whatif-cache").glob("*.cqv"):
        path.write_bytes(b"garbage")
    again = run("count", Q1, "--format", "json", *cache)
    assert again.exit_code == 0
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert "warning: what-if cache:" in again.stderr and "rebuilt" in again.stderr


def test_cache_info_and_clear(cache):
    run("count", Q1, *cache)
    info = run("cache", "info", *cache)
    assert info.exit_code == 0 and "files: " in info.stdout and "files: 0" not in info.stdout
    cleared = run("cache", "clear", *cache)
    assert cleared.exit_code == 0 and "removed " in cleared.stdout
    assert "files: 0" in run("cache", "info", *cache).stdout


def test_the_python_api_gives_frames(tmp_path):
    directory = tmp_path / "api-cache"
    assert cohortql.count(Q1, cache=directory).final.value == cohortql.count(Q1, cache=False).final.value
    frame = cohortql.what_if(Q1, drop=["recent NSAID"], cache=directory).frame()
    assert list(frame["variant"].unique()) == ["as written", 'drop "recent NSAID"']
    swept = cohortql.sweep(Q1, "age 35-45", "40..50/5", cache=directory).frame()
    assert list(swept["value"]) == [40.0, 45.0, 50.0] and swept["final"][1] == 131
    assert list(cohortql.impact(Q1, cache=directory).frame()["rule"]) == [
        "age 35-45", "recent NSAID", "no prior peptic ulcer"]
    assert len(cohortql.compare(Q1, Q1, cache=directory).frame()) == 8
