"""`cohortql sql` for DuckDB and PostgreSQL prints a script that runs as is (in `duckdb`, in `psql`),
and it gives the rows cohortql's own run gives: the literals are the bind values, quoted by sqlglot."""

from __future__ import annotations

import shutil
import subprocess

import duckdb
import pytest
from sqlalchemy.engine import make_url

from cohortql import pipeline
from cohortql.execute.runner import _fetch
from cohortql.fixtures import tiny
from cohortql.render import render
from tests.conftest import EXAMPLES, REPO

SOURCE_CODES = tiny.CASES_DIR / "11_source_codes.cohort"  # a source-code pattern: a quoted string literal
Q1 = REPO / "examples" / "q1_gi_bleed_nsaid.cohort"


def _compiled(path):
    return pipeline.compile_source(pipeline.read_source(path))


def _sorted(rows) -> list[tuple]:
    return sorted(tuple(str(value) for value in row) for row in rows)


@pytest.mark.parametrize("example", [*EXAMPLES, SOURCE_CODES], ids=lambda p: p.stem)
def test_the_duckdb_script_runs_as_is_and_counts_the_same(example, eunomia_target, tiny_duckdb_target):
    target = tiny_duckdb_target if example == SOURCE_CODES else eunomia_target
    compiled = _compiled(example)
    script = pipeline.rendered_sql(compiled, "duckdb")
    assert "$p" not in script and "Runs as is: duckdb" in script
    expected = _fetch(render(compiled.plan), target, render(compiled.plan).cohort)
    con = duckdb.connect(target.database_file, read_only=True)
    *setup, query = [s for s in script.split(";\n") if s.strip()]
    for statement in setup:
        con.execute(statement)
    assert _sorted(con.execute(query).fetchall()) == _sorted(expected)
    if example in (Q1, SOURCE_CODES):
        assert expected, "the comparison must see persons"


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")
@pytest.mark.parametrize("example", [Q1, SOURCE_CODES], ids=lambda p: p.stem)
def test_the_postgres_script_runs_in_psql_and_counts_the_same(example, postgres_eunomia, postgres_tiny, tmp_path):
    target, schema = (postgres_tiny, "tiny") if example == SOURCE_CODES else (postgres_eunomia, "eunomia")
    compiled = _compiled(example)
    script = pipeline.rendered_sql(compiled, "postgres", cdm_schema=schema)
    assert "%(" not in script and "psql" in script.splitlines()[1]
    path = tmp_path / "cohort.sql"
    path.write_text(script.replace(";\n-- the one-pass", ";\n\\pset format unaligned\n\\pset tuples_only on\n"
                                   "-- the one-pass", 1), encoding="utf-8")
    url = make_url(target.url).set(drivername="postgresql")
    done = subprocess.run(["psql", url.render_as_string(hide_password=False), "-v", "ON_ERROR_STOP=1", "-q",
                           "-f", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = [tuple(line.split("|")) for line in done.stdout.splitlines() if line.strip()]
    rendered = render(compiled.plan, schema)
    expected = _fetch(rendered, target, rendered.cohort)
    assert expected and _sorted(rows) == _sorted(expected)


def test_a_quote_in_a_value_stays_a_value():
    from cohortql.transpile import literal

    assert literal("E11'; DROP TABLE person; --").sql("postgres") == "'E11''; DROP TABLE person; --'"
