"""A construct a compile-only dialect cannot express is an error at compile time (E201), not a caveat."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from cohortql import pipeline
from cohortql.cli import app
from cohortql.diagnostics import CohortQLError, Source
from cohortql.transpile import COMPILE_ONLY, LIVE
from tests.conftest import REPO
from tests.resolve.test_error_snapshots import CASE_DIR, DIALECT_CASES

UPDATE = os.environ.get("COHORTQL_UPDATE_SNAPSHOTS") == "1"

# Line 2 holds the patterns; the backslash one starts at column 20, the bracket one at column 45.
DEFINITION = (
    "concepts Plain = {source ICD10CM \"E11%\"}\n"
    'concepts Odd = {   source ICD10CM "E1\\\\1%", source ICD10CM "E[1]%"}\n'
    "entry first condition Odd\n"
    'include "plain too": at least 1 condition Plain within 30 days after index\n'
)


def _compiled(text: str = DEFINITION) -> pipeline.Compiled:
    return pipeline.compile_source(Source("odd.cohort", text))


@pytest.mark.parametrize("dialect", COMPILE_ONLY)
def test_backslash_and_bracket_patterns_are_refused_for_compile_only_dialects(dialect):
    compiled = _compiled()
    with pytest.raises(CohortQLError) as refused:
        pipeline.rendered_sql(compiled, dialect)
    diagnostics = refused.value.to_dicts()
    assert [(d["code"], d["line"], d["column"]) for d in diagnostics] == [("E201", 2, 20), ("E201", 2, 45)]
    backslash, bracket = (d["message"] for d in diagnostics)
    assert backslash.startswith(f'the {dialect} dialect cannot express the source-code pattern "E1\\1%": its `\\`')
    assert bracket.startswith(f'the {dialect} dialect cannot express the source-code pattern "E[1]%": its `[`')
    assert all(dialect in d["hint"] for d in diagnostics)


@pytest.mark.parametrize("dialect", LIVE)
def test_the_engines_cohortql_runs_on_take_the_same_patterns(dialect):
    sql = pipeline.rendered_sql(_compiled(), dialect)
    if dialect in pipeline.RUN_AS_IS:  # the rows as the INSERT's literals, each pattern as written
        assert "(1, 'ICD10CM', 'E1\\1%'),\n  (1, 'ICD10CM', 'E[1]%')" in sql
    else:  # the rows, as comments
        assert "--   (1, 'ICD10CM', 'E1\\\\1%')\n--   (1, 'ICD10CM', 'E[1]%')\n" in sql
    assert "E[1]" not in sql.split("-- resolved concept sets")[-1].split("-- the resolved concept sets")[-1]


@pytest.mark.parametrize("dialect", COMPILE_ONLY)
def test_plain_patterns_compile_for_every_dialect(dialect):
    plain = DEFINITION.replace("\\\\", "").replace("[1]", "1")
    assert "LIKE" in pipeline.rendered_sql(_compiled(plain), dialect)


def test_sql_command_exits_non_zero_naming_construct_and_dialect(tmp_path):
    path = tmp_path / "odd.cohort"
    path.write_text(DEFINITION, encoding="utf-8")
    result = CliRunner().invoke(app, ["sql", str(path), "--dialect", "tsql"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error[E201]: the tsql dialect cannot express the source-code pattern \"E[1]%\"" in result.stderr
    assert f"{path}:2:45" in result.stderr
    assert "Traceback" not in result.stderr
    assert CliRunner().invoke(app, ["sql", str(path), "--dialect", "postgres"]).exit_code == 0


@pytest.mark.parametrize("case", DIALECT_CASES, ids=lambda case: f"{case.parent.name}/{case.stem}")
def test_dialect_error_matches_snapshot(case, monkeypatch):
    """As the snapshots of tests/error_cases/ (COHORTQL_UPDATE_SNAPSHOTS=1 rewrites them): the text a person reads."""
    monkeypatch.chdir(REPO)
    relative, dialect = case.relative_to(REPO).as_posix(), case.parent.name
    compiled = pipeline.compile_source(pipeline.read_source(relative))
    with pytest.raises(CohortQLError) as refused:
        pipeline.rendered_sql(compiled, dialect)
    expected = case.with_suffix(".expected")
    if UPDATE:
        expected.write_text(f"{refused.value}\n", encoding="utf-8")
    assert str(refused.value) == expected.read_text(encoding="utf-8").removesuffix("\n")
    result = CliRunner().invoke(app, ["sql", relative, "--dialect", dialect])
    assert (result.exit_code, result.stdout) == (1, "")
    assert str(refused.value) in result.stderr


def test_every_dialect_case_names_a_compile_only_dialect():
    assert DIALECT_CASES
    assert {case.parent.name for case in DIALECT_CASES} <= set(COMPILE_ONLY)
    assert {case.stem for case in DIALECT_CASES} == {p.stem for p in CASE_DIR.glob("*/*.expected")}
