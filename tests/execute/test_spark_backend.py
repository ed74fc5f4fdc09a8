"""The Spark backend answers exactly as DuckDB does, on a real local Spark session.

Every example on Eunomia (Q1-Q6 also with breakdown strata) and every tiny-fixture case run from
Parquet copies of the DuckDB CDMs (written by `cohortql load --parquet`), a few from a catalog database;
the raw counts (rule masks, strata, persons, entries) must be identical to DuckDB's. One Spark
session (the `spark` fixture) serves the whole run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from cohortql import pipeline
from cohortql.cli import app
from cohortql.execute.errors import DatabaseError
from cohortql.execute.loader import export_parquet
from cohortql.execute.runner import run_cohort, run_concept_report
from cohortql.execute.target import resolve_target
from cohortql.fixtures import tiny
from cohortql.protect import DisclosurePolicy
from cohortql.render import SqlStatement, render
from cohortql.transpile import transpile
from tests.conftest import EXAMPLES, REPO

pytestmark = pytest.mark.slow  # a local Spark session, minutes of work

QUESTIONS = [path for path in EXAMPLES if path.stem.split("_")[0] in ("q1", "q2", "q3", "q4", "q5", "q6")]
CASES = tiny.case_paths()
# Small CDMs: adaptive execution runs every stage as its own job, and more partitions mean more
# tasks to schedule than rows to spread; both cost more than they save here.
SMALL = "spark.sql.adaptive.enabled=false&spark.sql.shuffle.partitions=1"


def _plan(path):
    return pipeline.compile_source(pipeline.read_source(path)).plan


@pytest.fixture(scope="module")
def eunomia_targets(spark, eunomia_target, tmp_path_factory):
    """(DuckDB, Spark on a Parquet copy) of the normalised Eunomia CDM."""
    out = tmp_path_factory.mktemp("eunomia-parquet")
    export_parquet(eunomia_target.database_file, out)
    return eunomia_target, resolve_target(f"spark://{out}?format=parquet&{SMALL}")


@pytest.fixture(scope="module")
def tiny_targets(spark, tiny_duckdb_target, tmp_path_factory):
    """(DuckDB, Spark on a Parquet copy, the directory holding the copy) of the tiny hand-made CDM."""
    base = tmp_path_factory.mktemp("tiny-spark")
    loaded = CliRunner().invoke(app, ["load", "tiny", "--parquet", str(base / "parquet")])  # as a user would
    assert loaded.exit_code == 0, loaded.output
    return tiny_duckdb_target, resolve_target(f"spark://{base}/parquet?format=parquet&{SMALL}"), base


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem.split("_")[0])
def test_eunomia_same_counts_as_duckdb(example, eunomia_targets):
    duck, spark = eunomia_targets
    rendered = render(_plan(example))
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


def test_tiny_every_stratum_same_as_duckdb(tiny_targets):
    """Every breakdown at once: two sites, an unknown site group (NULL, sorted last on both engines)."""
    duck, spark, _ = tiny_targets
    strata = ("site", "site_group", "sex", "age5", "age10", "year", "quarter", "month")
    rendered = render(_plan(tiny.CASES_DIR / "21_exclude_rule.cohort"), strata=strata)
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


def test_catalog_database_same_counts_as_duckdb(tiny_targets, tiny_catalog):
    duck, _, _ = tiny_targets
    spark = resolve_target(f"spark://local[*]?{SMALL}", cdm_schema=tiny_catalog)
    assert spark.dialect == "spark"
    plan = _plan(tiny.CASES_DIR / "20_nested_groups.cohort")
    assert run_cohort(render(plan, tiny_catalog), spark) == run_cohort(render(plan), duck)


def test_cli_count_in_a_new_jvm_is_quiet_and_right(tiny_targets):
    """`cohortql count --db spark:///DIR?format=parquet` as a user runs it: a new process starts
    its own JVM, logs errors only (no start-up notices on stderr) and prints the DuckDB answer."""
    duck, _, base = tiny_targets
    case = tiny.CASES_DIR / "11_source_codes.cohort"
    url = f"spark://local[1]{base}/parquet?format=parquet&{SMALL}"
    cli = Path(sys.executable).with_name("cohortql")
    env = {**os.environ, "XDG_CONFIG_HOME": str(base / "no-config")}  # no profile: the default policy
    env.pop("COHORTQL_PROFILE", None)
    done = subprocess.run(
        [str(cli), "count", str(case), "--db", url, "--format", "json"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    expected = pipeline.run(pipeline.compile_source(pipeline.read_source(case)), duck, DisclosurePolicy()).to_dict()
    released = json.loads(done.stdout)
    assert (released["final"], released["attrition"]) == (expected["final"], expected["attrition"])
    noise = [line for line in done.stderr.splitlines() if " WARN " in line or "log level" in line or "log4j" in line]
    assert noise == []


def test_parquet_table_directories(tiny_targets, tmp_path):
    """A table may also be a directory of Parquet files (`person/part-0.parquet`), as Spark writes them."""
    duck, _, base = tiny_targets
    for file in (base / "parquet").glob("*.parquet"):
        (tmp_path / file.stem).mkdir()
        shutil.copy(file, tmp_path / file.stem / "part-0.parquet")
    spark = resolve_target(f"spark://{tmp_path}?format=parquet&{SMALL}")
    rendered = render(_plan(tiny.CASES_DIR / "11_source_codes.cohort"))
    assert run_cohort(rendered, spark) == run_cohort(rendered, duck)


def test_concept_report_same_as_duckdb(eunomia_targets):
    duck, spark = eunomia_targets
    rendered = render(_plan(REPO / "examples/q1_gi_bleed_nsaid.cohort"))
    rows = run_concept_report(rendered, spark)
    assert rows == run_concept_report(rendered, duck)
    assert rows


def test_missing_catalog_table_is_named(spark, tmp_path):
    spark.sql(f"CREATE DATABASE IF NOT EXISTS cq_no_cdm LOCATION '{tmp_path}'")
    target = resolve_target(f"spark://local[*]?{SMALL}", cdm_schema="cq_no_cdm")
    rendered = render(_plan(CASES[0]), "cq_no_cdm")
    with pytest.raises(DatabaseError, match="a CDM table is missing in database `cq_no_cdm`"):
        run_cohort(rendered, target)
    spark.sql("DROP DATABASE cq_no_cdm")


def test_empty_parquet_directory_is_an_error(spark, tmp_path):
    target = resolve_target(f"spark://{tmp_path}?format=parquet")
    with pytest.raises(DatabaseError, match="no OMOP tables in the Parquet directory"):
        run_cohort(render(_plan(CASES[0])), target)


def test_time_limit_cancels_the_jobs(tiny_targets, spark):
    """A run past its time limit is cancelled (its job group), and the Spark context stays usable.

    The run is one job, the endless query (nothing staged before it), so whenever the limit comes,
    before that job starts or while it runs, the cancel that follows it is of that job.
    """
    _, target, _ = tiny_targets
    endless = SqlStatement(  # 10^12 pairs: hours of work
        "SELECT 0 AS mask, COUNT(*) AS persons, 0 AS entries FROM (SELECT UNNEST(range(0, 1000000)) AS a) AS x"
        " CROSS JOIN (SELECT UNNEST(range(0, 1000000)) AS b) AS y",
        reads_concept_sets=False,
    )
    slow = dataclasses.replace(render(_plan(CASES[0])), cohort=endless, concept_report=endless)
    limited = resolve_target(target.url, timeout_seconds=1)
    started = time.monotonic()
    with pytest.raises(DatabaseError, match="ran out of time"):
        run_cohort(slow, limited)
    assert time.monotonic() - started < 60
    assert spark.sql("SELECT COUNT(*) AS n FROM range(0, 10)").collect()[0]["n"] == 10


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
    sql = (
        "SELECT x.code LIKE x.pattern AS matches"
        " FROM (SELECT CAST(:code AS VARCHAR) AS code, CAST(:pattern AS VARCHAR) AS pattern) AS x"
    )
    values = {"code": code, "pattern": pattern}
    (expected,) = duckdb.execute(sql.replace(":code", "$code").replace(":pattern", "$pattern"), values).fetchone()
    rows = spark_session.sql(transpile(sql, "spark"), args=values).collect()
    assert rows[0]["matches"] == expected


@pytest.mark.parametrize(("look_up", "argument"), [
    (pipeline.search_concepts, "sinusitis"), (pipeline.search_concepts, "k92.2"), (pipeline.search_concepts, "'%_"),
    (pipeline.show_concept, 192671), (pipeline.show_concept, 4283893), (pipeline.show_concept, 35208414),
])
def test_eunomia_concept_look_ups_same_as_duckdb(look_up, argument, eunomia_targets):
    from cohortql.render.vocabulary import ConceptSearch

    duck, spark = eunomia_targets
    asked = ConceptSearch(argument) if isinstance(argument, str) else argument
    answers = [look_up(asked, target, DisclosurePolicy()).to_dict() for target in (duck, spark)]
    assert [answer.pop("database")["dialect"] for answer in answers] == ["duckdb", "spark"]
    assert answers[0] == answers[1]
