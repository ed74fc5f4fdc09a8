"""The PostgreSQL SQL of every example is valid on a real server (empty CDM tables)."""

from __future__ import annotations

import duckdb
import pytest
import sqlalchemy as sa

from cohortql import pipeline
from cohortql.execute.runner import run_cohort, run_concept_report
from cohortql.execute.target import resolve_target
from cohortql.fixtures import ddl_statements
from cohortql.render import render
from cohortql.transpile import transpile
from tests.conftest import EXAMPLES, REPO


@pytest.fixture(scope="module")
def empty_cdm(postgres_database):
    engine = sa.create_engine(postgres_database, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE SCHEMA empty_cdm")
        connection.exec_driver_sql("SET search_path TO empty_cdm")
        for statement in ddl_statements():
            connection.exec_driver_sql(statement)
    engine.dispose()
    return resolve_target(postgres_database, "empty_cdm")


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_postgres_sql_runs(example, empty_cdm):
    compiled = pipeline.compile_source(pipeline.read_source(example.relative_to(REPO)))
    rendered = render(compiled.plan, "empty_cdm")
    raw = run_cohort(rendered, empty_cdm)
    assert raw.rows == ()
    report = run_concept_report(rendered, empty_cdm)
    # Listed concept ids stay in their sets even when the (empty) vocabulary does not know them.
    listed = {(c.id, i.concept_id) for c in compiled.plan.codesets for i in c.items if not i.excluded}
    assert {(row[0], row[1]) for row in report} == listed
    assert all(row[2] is None and row[6] == 0 for row in report)


@pytest.mark.parametrize(
    ("code", "pattern"),
    [("E11.9", "E11%"), ("E1109", "E11_9"), ("a\\b", "a\\b"), ("a_b", "a\\_b"), ("a\\_b", "a\\_b"), ("a%", "a\\%")],
)
def test_like_has_no_escape_character(postgres_database, code, pattern):
    """DuckDB's LIKE has no escape character; PostgreSQL's default is a backslash, which must not apply."""
    sql = "SELECT CAST(:code AS VARCHAR) LIKE CAST(:pattern AS VARCHAR) AS matches"
    values = {"code": code, "pattern": pattern}
    (expected,) = duckdb.execute(sql.replace(":code", "$code").replace(":pattern", "$pattern"), values).fetchone()
    engine = sa.create_engine(postgres_database, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        (matches,) = connection.exec_driver_sql(transpile(sql, "postgres"), values).one()
    engine.dispose()
    assert matches == expected
