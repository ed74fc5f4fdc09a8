"""Shared fixtures: the Eunomia demo CDM (built once per test session into a temp cache)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cohortql.omop import RECORD_IDS

REPO = Path(__file__).resolve().parents[1]
# Columns unique per row in a well-formed CDM: record ids, one row per person, site, location, concept.
CDM_KEYS = {"person": "person_id", **RECORD_IDS, "death": "person_id", "care_site": "care_site_id",
            "location": "location_id", "concept": "concept_id"}  # fmt: skip
EXAMPLES = sorted((REPO / "examples").glob("*.cohort"))


@pytest.fixture(scope="session")
def eunomia_target(tmp_path_factory):
    from cohortql.execute.eunomia import eunomia_cdm_path
    from cohortql.execute.target import resolve_target

    cache = tmp_path_factory.mktemp("cohortql-cache")
    os.environ["COHORTQL_CACHE_DIR"] = str(cache)
    eunomia_cdm_path(cache)
    return resolve_target()


POSTGRES_ADMIN_URL = os.environ.get("COHORTQL_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_database():
    """A scratch PostgreSQL database for this test session, dropped at the end.

    Skips with a reason when no server is reachable, except in CI (CI=true), where it fails.
    """
    import uuid

    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError as error:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no PostgreSQL server at {make_url(POSTGRES_ADMIN_URL).render_as_string()}: {error.orig}")
    name = f"cohortql_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_ADMIN_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local Spark session for the whole test run (starting one costs seconds)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("cohortql-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))  # not in the checkout
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _load_into_postgres(source: str, postgres_database: str, schema: str):
    from cohortql.execute.loader import load
    from cohortql.execute.target import resolve_target

    load(source, postgres_database, schema)
    return resolve_target(postgres_database, schema)


@pytest.fixture(scope="session")
def postgres_eunomia(postgres_database, eunomia_target):
    """Eunomia loaded by `cohortql load` into schema `eunomia` of the scratch database."""
    return _load_into_postgres("eunomia", postgres_database, "eunomia")


@pytest.fixture(scope="session")
def tiny_duckdb_target(tmp_path_factory):
    """The tiny hand-made CDM in a DuckDB file."""
    from cohortql.execute.target import resolve_target
    from cohortql.fixtures import tiny

    return resolve_target(f"duckdb:///{tiny.build_duckdb(tmp_path_factory.mktemp('tiny-duckdb'))}")


@pytest.fixture(scope="session")
def postgres_tiny(postgres_database, tiny_duckdb_target):
    """That DuckDB file loaded by `cohortql load` into schema `tiny` of the scratch database."""
    return _load_into_postgres(tiny_duckdb_target.database_file, postgres_database, "tiny")


@pytest.fixture(scope="session")
def postgres_slow(postgres_database, postgres_tiny) -> str:
    """Schema `slow`: views of `tiny` whose observation_period takes a minute a row to read, so the
    cohort query runs for half an hour (time limits, Ctrl-C, progress). Returns the schema's name."""
    import sqlalchemy as sa

    tables = ("person", "concept", "concept_ancestor", "concept_relationship", "visit_occurrence",
              "condition_occurrence", "drug_exposure", "procedure_occurrence", "measurement", "observation",
              "device_exposure", "death", "drug_era", "condition_era", "care_site", "location")  # fmt: skip
    engine = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE SCHEMA slow")
        for table in tables:
            connection.exec_driver_sql(f"CREATE VIEW slow.{table} AS SELECT * FROM tiny.{table}")
        connection.exec_driver_sql(
            "CREATE FUNCTION slow.sleepy(seconds float) RETURNS boolean LANGUAGE plpgsql VOLATILE"
            " AS $$ BEGIN PERFORM pg_sleep(seconds); RETURN true; END $$"
        )
        connection.exec_driver_sql(
            "CREATE VIEW slow.observation_period AS SELECT * FROM tiny.observation_period WHERE slow.sleepy(60)"
        )
    engine.dispose()
    return "slow"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """A fresh governance store: a SQLite file, and a schema of the test PostgreSQL server."""
    from cohortql.governance.store import Store, open_store, store_url
    from tests.governance_history import postgres_schema

    if request.param == "sqlite":
        with Store(store_url(str(tmp_path / "governance.sqlite"))) as opened:
            yield opened
        return
    with postgres_schema(request.getfixturevalue("postgres_database")) as url, open_store(url) as opened:
        yield opened
