"""Runs a rendered cohort on a SQLAlchemy engine: load inputs, build concept sets, one query.

Read-only on the CDM: only temporary tables are written (cq_codeset_item, cq_codeset_source,
cq_codeset), and on PostgreSQL the query itself runs in a READ ONLY transaction. A time limit
stops every statement; Ctrl-C cancels the server-side query (see `cancel.py`). Each dialect
concern is one function below, dispatching on `target.dialect`; an engine is added beside them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from cohortql.execute.cancel import Cancellable, run_cancellable
from cohortql.execute.errors import SCHEMA_HINT, DatabaseError, explain_driver_error
from cohortql.execute.spark import run_statement as run_on_spark
from cohortql.execute.target import Target, libpq_connect_args
from cohortql.render import RenderedCohort, SqlStatement, TempTable
from cohortql.transpile import transpile


@dataclass(frozen=True)
class RawCounts:
    """Persons (and their entries) by rule mask and strata: the one-pass result.

    Holds true counts about people, so only the protect stage may read it for release.
    """

    rule_names: tuple[str, ...]
    strata: tuple[str, ...]
    rows: tuple[tuple[int, tuple, int, int], ...]  # (mask, strata values, persons, entries)


def _engine(target: Target) -> sa.Engine:
    if target.dialect == "duckdb":
        # The CDM file is opened read-only; temporary tables live in DuckDB's in-memory temp catalog.
        return sa.create_engine(target.url, connect_args={"read_only": True}, poolclass=sa.pool.NullPool)
    connect_args = libpq_connect_args(target.url, "cohortql")
    return sa.create_engine(target.url, connect_args=connect_args, poolclass=sa.pool.NullPool)


def _start_session(connection: sa.Connection, target: Target) -> None:
    """Session settings: PostgreSQL's time limit applies to every statement of the session."""
    if target.dialect == "postgres":
        connection.exec_driver_sql(
            "SELECT set_config('statement_timeout', %(ms)s, false)", {"ms": str(target.timeout_seconds * 1000)}
        )


_SCHEMA_EXISTS = {
    # pg_namespace lists every schema; information_schema.schemata hides those without privileges.
    "postgres": sa.text("SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = :name"),
    "duckdb": sa.text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = :name"),
}


def _check_schemas(connection: sa.Connection, target: Target) -> None:
    """A missing schema would otherwise surface as a missing table; name it instead."""
    for schema in dict.fromkeys(s for s in (target.cdm_schema, target.vocab_schema) if s):
        (found,) = connection.execute(_SCHEMA_EXISTS[target.dialect], {"name": schema}).one()
        if not found:
            raise DatabaseError(f"schema not found: {schema}", SCHEMA_HINT)


def _create_input(connection: sa.Connection, dialect: str, table: TempTable) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in table.columns)
    connection.exec_driver_sql(transpile(f"CREATE TEMPORARY TABLE {table.name} ({columns})", dialect))
    if table.rows:
        names = [name for name, _ in table.columns]
        insert = sa.text(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})")
        connection.execute(insert, [dict(zip(names, row, strict=True)) for row in table.rows])


def _analyse(connection: sa.Connection, dialect: str, table: str) -> None:
    """Statistics for a temporary table: PostgreSQL's autovacuum never analyses them, and without
    statistics the planner guesses a few hundred rows for a concept set of 50,000."""
    if dialect == "postgres":
        connection.exec_driver_sql(f"ANALYZE {table}")


def _index_codesets(connection: sa.Connection, dialect: str) -> None:
    """Looking up one concept set, or probing it per row where the planner still nests a loop,
    reads a few index pages instead of every resolved concept. DuckDB hashes; it needs none."""
    if dialect == "postgres":
        connection.exec_driver_sql("CREATE INDEX cq_codeset_lookup ON cq_codeset (codeset_id, concept_id)")


def _prepare(connection: sa.Connection, target: Target, rendered: RenderedCohort) -> None:
    """Temporary inputs and the resolved concept sets, analysed so the planner sees their size."""
    dialect = target.dialect
    for table in rendered.inputs:
        _create_input(connection, dialect, table)
        _analyse(connection, dialect, table.name)
    codesets = transpile(rendered.codesets.sql, dialect)
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE cq_codeset AS {codesets}", rendered.codesets.params or None)
    _index_codesets(connection, dialect)
    _analyse(connection, dialect, "cq_codeset")


def _read_only(connection: sa.Connection, target: Target) -> None:
    """Keep the temporary tables (they live for the session) and read the CDM read-only from here."""
    if target.dialect == "postgres":
        connection.commit()
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")


def _planner_settings(connection: sa.Connection, target: Target) -> None:
    """PostgreSQL underestimates the entries that survive the window and observation-period filters
    (a handful for tens of thousands: there are no statistics on CTE outputs), then picks nested
    loops that re-read an aggregate once per entry. Hash and merge joins, as DuckDB always uses,
    keep every example under 2 s on 100,000 persons where nested loops took up to 38 s
    (benchmarks/postgres_examples.py). SET LOCAL: for this read-only transaction only."""
    if target.dialect == "postgres":
        connection.exec_driver_sql("SET LOCAL enable_nestloop = off")


@contextmanager
def _time_limit(dbapi_connection, target: Target):
    """Interrupt a running DuckDB query after the time limit (PostgreSQL uses statement_timeout)."""
    interrupt = getattr(dbapi_connection, "interrupt", None) if target.dialect == "duckdb" else None
    timer = threading.Timer(target.timeout_seconds, interrupt) if interrupt else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer:
            timer.cancel()


@contextmanager
def _session(
    rendered: RenderedCohort, target: Target, cancellable: Cancellable, concept_sets: bool = True
) -> Iterator[sa.Connection]:
    """A connection inside a read-only transaction, with the concept sets materialised if asked."""
    try:
        engine = _engine(target)
        with engine.connect() as connection:
            dbapi = connection.connection.dbapi_connection
            cancellable.watch(dbapi)
            with _time_limit(dbapi, target):
                _start_session(connection, target)
                _check_schemas(connection, target)
                if concept_sets:
                    _prepare(connection, target, rendered)
                _read_only(connection, target)
                _planner_settings(connection, target)
                cancellable.check()  # Ctrl-C between the preparing statements: stop before the query
                yield connection
            connection.rollback()
    except DBAPIError as error:
        raise explain_driver_error(error, target.error_context()) from None
    except SQLAlchemyError as error:
        raise DatabaseError(f"database error: {error.__class__.__name__}", None) from None


def _run(rendered: RenderedCohort, target: Target, statement: SqlStatement) -> list[tuple]:
    if target.dialect == "spark":  # a Spark session, not a SQLAlchemy engine (see spark.py)
        return run_on_spark(rendered, target, statement)
    query = transpile(statement.sql, target.dialect)

    def work(cancellable: Cancellable) -> list[tuple]:
        with _session(rendered, target, cancellable, statement.reads_concept_sets) as connection:
            return [tuple(row) for row in connection.exec_driver_sql(query, statement.params or None)]

    return run_cancellable(work)


def run_cohort(rendered: RenderedCohort, target: Target) -> RawCounts:
    result = _run(rendered, target, rendered.cohort)
    n_strata = len(rendered.strata)
    rows = tuple(
        (int(row[0]), tuple(row[1 : 1 + n_strata]), int(row[1 + n_strata]), int(row[2 + n_strata])) for row in result
    )
    return RawCounts(rendered.rule_names, rendered.strata, rows)


def run_concept_report(rendered: RenderedCohort, target: Target) -> list[tuple]:
    """(codeset_id, concept_id, name, domain, vocabulary, standard, records) per resolved concept."""
    return _run(rendered, target, rendered.concept_report)


def run_site_catalogue(rendered: RenderedCohort, target: Target) -> list[tuple]:
    """(site, site_group) for every care site, labelled as the site strata are."""
    return _run(rendered, target, rendered.site_catalogue)


def run_cdm_source(rendered: RenderedCohort, target: Target) -> list[tuple]:
    """(name, holder, source release date, CDM release date) rows of cdm_source, latest first."""
    return _run(rendered, target, rendered.cdm_source)


_EXPLAIN = {"postgres": "EXPLAIN (ANALYZE, FORMAT JSON) ", "duckdb": "EXPLAIN ANALYZE "}


def explain_cohort(rendered: RenderedCohort, target: Target) -> str:
    """The engine's executed plan of the cohort query (PostgreSQL: JSON), for benchmarks and tuning."""
    if target.dialect not in _EXPLAIN:
        raise DatabaseError(f"no executed plan from {target.dialect}", "Spark shows each query's plan in its web UI")
    query = _EXPLAIN[target.dialect] + transpile(rendered.cohort.sql, target.dialect)

    def work(cancellable: Cancellable) -> str:
        with _session(rendered, target, cancellable) as connection:
            rows = connection.exec_driver_sql(query, rendered.cohort.params or None).fetchall()
            # psycopg2 hands back PostgreSQL's JSON plan parsed; DuckDB gives text
            return "\n".join(v if isinstance(v, str) else json.dumps(v) for row in rows for v in row if v is not None)

    return run_cancellable(work)
