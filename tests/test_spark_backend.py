"""The Spark backend answers exactly as DuckDB does, on a real local Spark session.

Eunomia Q1-Q6 and every tiny-fixture case run from Parquet copies of the DuckDB CDMs (written by
`write_parquet`), with and without breakdown strata, and from a catalog database; the raw counts
(rule masks, strata, persons, entries) must be identical to DuckDB's. One Spark session (the
`spark` fixture) serves the whole run.
"""

from __future__ import annotations

import time

import duckdb
import pytest

from cohortql import pipeline
from cohortql.execute.errors import DatabaseError
from cohortql.execute.runner import run_cohort, run_concept_report
from cohortql.execute.spark import write_parquet
from cohortql.execute.target import resolve_target
from cohortql.render import RenderedCohort, SqlStatement, render
from cohortql.transpile import transpile
from omop_fixtures import tiny
from tests.conftest import REPO

QUESTIONS = sorted((REPO / "examples").glob("q[1-6]_*.cohort"))
CASES = tiny.case_paths()
# Tiny data: adaptive execution plans every stage as its own job, which costs more than it saves.
SMALL = "spark.sql.adaptive.enabled=false"


def _plan(path):
    return pipeline.compile_source(pipeline.read_source(path)).plan


@pytest.fixture(scope="module")
def eunomia_targets(spark, eunomia_target, tmp_path_factory):
    """(DuckDB, Spark on a Parquet copy) of the normalised Eunomia CDM."""
    out = tmp_path_factory.mktemp("eunomia-parquet")
    write_parquet(eunomia_target.url.database, out)
    return eunomia_target, resolve_target(f"spark://{out}?format=parquet&{SMALL}")


@pytest.fixture(scope="module")
def tiny_targets(spark, tmp_path_factory):
    """(DuckDB, Spark on a Parquet copy, Parquet directory) of the tiny hand-made CDM."""
    base = tmp_path_factory.mktemp("tiny-spark")
    path = tiny.build_duckdb(base / "tiny.duckdb")
    write_parquet(path, base / "parquet")
    return resolve_target(f"duckdb:///{path}"), resolve_target(f"spark://{base}/parquet?format=parquet&{SMALL}"), base


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda p: p.stem.split("_")[0])
def test_eunomia_same_counts_as_duckdb(question, eunomia_targets):
    duck, spark = eunomia_targets
    rendered = render(_plan(question))
    assert run_cohort(rendered, spark) == run_cohort(rendered, duck)


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda p: p.stem.split("_")[0])
def test_eunomia_breakdown_same_as_duckdb(question, eunomia_targets):
    duck, spark = eunomia_targets
    rendered = render(_plan(question), strata=("sex", "age10", "year"))
    raw = run_cohort(rendered, spark)
    assert raw == run_cohort(rendered, duck)
    assert len(raw.rows) > len({row[0] for row in raw.rows})  # the strata really split the masks


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_tiny_case_same_counts_as_duckdb(case, tiny_targets):
    duck, spark, _ = tiny_targets
    rendered = render(_plan(case))
    assert run_cohort(rendered, spark) == run_cohort(rendered, duck)


@pytest.mark.parametrize("case", ["08_all_mode", "15_sex_and_index_date", "21_exclude_rule"])
def test_tiny_every_stratum_same_as_duckdb(case, tiny_targets):
    """Site and site group cover the text casts; NULL strata sort last on both engines."""
    duck, spark, _ = tiny_targets
    strata = ("site", "site_group", "sex", "age5", "age10", "year")
    rendered = render(_plan(tiny.CASES_DIR / f"{case}.cohort"), strata=strata)
    raw = run_cohort(rendered, spark)
    assert raw == run_cohort(rendered, duck)
    assert any(row[1][1] is None for row in raw.rows)


@pytest.fixture(scope="module")
def tiny_catalog(spark, tiny_targets):
    """The tiny CDM as external tables of a catalog database (its Parquet files, not copied)."""
    _, _, base = tiny_targets
    spark.sql(f"CREATE DATABASE IF NOT EXISTS cq_tiny_catalog LOCATION '{base}/warehouse'")
    for file in sorted((base / "parquet").glob("*.parquet")):
        spark.sql(f"CREATE TABLE IF NOT EXISTS cq_tiny_catalog.{file.stem} USING parquet LOCATION '{file}'")
    yield "cq_tiny_catalog"
    spark.sql("DROP DATABASE cq_tiny_catalog CASCADE")


@pytest.mark.parametrize("case", ["06_first_ever", "11_source_codes", "20_nested_groups"])
def test_catalog_database_same_counts_as_duckdb(case, tiny_targets, tiny_catalog):
    duck, _, _ = tiny_targets
    spark = resolve_target(f"spark://local[*]?{SMALL}", cdm_schema=tiny_catalog)
    assert spark.dialect == "spark"
    plan = _plan(tiny.CASES_DIR / f"{case}.cohort")
    assert run_cohort(render(plan, tiny_catalog), spark) == run_cohort(render(plan), duck)


def test_concept_report_same_as_duckdb(eunomia_targets):
    duck, spark = eunomia_targets
    rendered = render(_plan(REPO / "examples/q1_gi_bleed_nsaid.cohort"))
    rows = run_concept_report(rendered, spark)
    assert rows == run_concept_report(rendered, duck)
    assert rows


def test_missing_catalog_table_is_named(tiny_targets, tiny_catalog, spark):
    spark.sql("CREATE DATABASE IF NOT EXISTS cq_no_cdm")
    target = resolve_target(f"spark://local[*]?{SMALL}", cdm_schema="cq_no_cdm")
    rendered = render(_plan(CASES[0]), "cq_no_cdm")
    with pytest.raises(DatabaseError, match="a CDM table is missing in database `cq_no_cdm`"):
        run_cohort(rendered, target)
    spark.sql("DROP DATABASE cq_no_cdm")


def test_empty_parquet_directory_is_an_error(spark, tmp_path):
    target = resolve_target(f"spark://{tmp_path}?format=parquet")
    with pytest.raises(DatabaseError, match="no OMOP tables in the Parquet directory"):
        run_cohort(render(_plan(CASES[0])), target)


def test_time_limit_cancels_the_jobs(tiny_targets):
    """A run past its time limit is cancelled (its job group), and the Spark context stays usable."""
    duck, spark, _ = tiny_targets
    rendered = render(_plan(CASES[0]))
    endless = SqlStatement("SELECT 0 AS mask, COUNT(*) AS persons, 0 AS entries FROM range(0, 1000000000000)")
    slow = RenderedCohort(rendered.inputs, rendered.codesets, endless, endless, (), ())
    limited = resolve_target(spark.url.render_as_string(), timeout_seconds=1)
    started = time.monotonic()
    with pytest.raises(DatabaseError, match="ran out of time"):
        run_cohort(slow, limited)
    assert time.monotonic() - started < 60
    assert run_cohort(rendered, spark) == run_cohort(rendered, duck)


@pytest.fixture
def spark_session(spark):
    session = spark.newSession()
    yield session


def test_day_difference_ignores_time_zone(spark_session):
    """Spark's DATEDIFF(DAY, ...) would count 0 days across the DST jump at midnight in Sao Paulo."""
    spark_session.conf.set("spark.sql.session.timeZone", "America/Sao_Paulo")
    sql = transpile("SELECT DATE_DIFF('day', CAST(:a AS DATE), CAST(:b AS DATE)) AS days", "spark")
    rows = spark_session.sql(sql, args={"a": "2018-11-04", "b": "2018-11-05"}).collect()
    assert rows[0]["days"] == 1


@pytest.mark.parametrize(
    ("code", "pattern"),
    [("E11.9", "E11%"), ("E1109", "E11_9"), ("a\\b", "a\\b"), ("a_b", "a\\_b"), ("a\\_b", "a\\_b"), ("a%", "a\\%")],
)
def test_like_has_no_escape_character(spark_session, code, pattern):
    """DuckDB's LIKE has no escape character; on Spark a backslash must stay a plain character."""
    sql = "SELECT :code LIKE :pattern AS matches"
    expected = duckdb.execute(
        sql.replace(":code", "$code").replace(":pattern", "$pattern"), {"code": code, "pattern": pattern}
    ).fetchone()[0]
    rows = spark_session.sql(transpile(sql, "spark"), args={"code": code, "pattern": pattern}).collect()
    assert rows[0]["matches"] == expected
