"""Runs a rendered cohort on a SQLAlchemy engine: load inputs, build concept sets, one query.

Read-only on the CDM: only temporary tables are written. A time limit interrupts the query.
"""

from __future__ import annotations

import contextlib
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from cohortql.execute.errors import DatabaseError, explain_driver_error
from cohortql.execute.target import Target
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
    return sa.create_engine(target.url, poolclass=sa.pool.NullPool)


@contextmanager
def _time_limit(dbapi_connection, seconds: int):
    """Interrupt a running DuckDB query after `seconds` (PostgreSQL uses statement_timeout)."""
    interrupt = getattr(dbapi_connection, "interrupt", None)
    timer = threading.Timer(seconds, interrupt) if interrupt else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer:
            timer.cancel()


def _create_input(connection: sa.Connection, dialect: str, table: TempTable) -> None:
    columns = ", ".join(f"{name} {kind}" for name, kind in table.columns)
    connection.exec_driver_sql(transpile(f"CREATE TEMPORARY TABLE {table.name} ({columns})", dialect))
    if table.rows:
        names = [name for name, _ in table.columns]
        insert = sa.text(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})")
        connection.execute(insert, [dict(zip(names, row, strict=True)) for row in table.rows])


def _prepare(connection: sa.Connection, target: Target, rendered: RenderedCohort) -> None:
    """Temporary inputs and the resolved concept sets, analysed so the planner sees their size."""
    dialect = target.dialect
    for table in rendered.inputs:
        _create_input(connection, dialect, table)
    codesets = transpile(rendered.codesets.sql, dialect)
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE cq_codeset AS {codesets}", rendered.codesets.params or None)
    if dialect == "postgres":
        connection.exec_driver_sql("ANALYZE cq_codeset")


def _run(rendered: RenderedCohort, target: Target, statement: SqlStatement) -> list[tuple]:
    """Prepare the session (inputs, concept sets) and run one statement read-only."""
    dialect = target.dialect
    query = transpile(statement.sql, dialect)
    try:
        engine = _engine(target)
        with engine.connect() as connection:
            dbapi = connection.connection.dbapi_connection
            if dialect == "postgres":
                connection.exec_driver_sql(
                    "SELECT set_config('statement_timeout', %(ms)s, false)", {"ms": str(target.timeout_seconds * 1000)}
                )
            _prepare(connection, target, rendered)
            if dialect == "postgres":
                connection.commit()  # temp tables stay for the session; the query itself runs read-only
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                with _time_limit(dbapi, target.timeout_seconds):
                    rows = [tuple(row) for row in connection.exec_driver_sql(query, statement.params or None)]
            except KeyboardInterrupt:
                _cancel(dbapi)
                raise
            connection.rollback()
            return rows
    except DBAPIError as error:
        raise explain_driver_error(error, target.cdm_schema) from None
    except SQLAlchemyError as error:
        raise DatabaseError(f"database error: {error.__class__.__name__}", None) from None


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


def _cancel(dbapi_connection) -> None:
    """Ctrl-C: stop the server-side query too, not only the client."""
    for method in ("cancel", "interrupt"):
        stop = getattr(dbapi_connection, method, None)
        if stop:
            with contextlib.suppress(Exception):  # the connection may already be gone
                stop()
            return
