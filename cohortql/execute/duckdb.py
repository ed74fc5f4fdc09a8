"""DuckDB, the embedded engine, on the `duckdb` module itself: the CDM file opened read-only, a client-side time limit.

No SQLAlchemy and no duckdb-engine: they cost a new process about 0.3 s of imports before the
first statement (docs/performance.md), and DuckDB's own connection already speaks the canonical
dialect the templates are written in.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager

import duckdb

from cohortql.execute.cancel import Cancellable
from cohortql.execute.engine import EngineSettings, check_schemas
from cohortql.execute.errors import explain_driver_error
from cohortql.execute.target import Target
from cohortql.render import SqlStatement, TempTable

SETTINGS = EngineSettings(dialect="duckdb", explain_prefix="EXPLAIN ANALYZE ", local_file=True)
SCHEMA_EXISTS = "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $name"


def _in_duckdb(statement: SqlStatement) -> str:
    """The rendered SQL as it is (DuckDB is the canonical dialect: no sqlglot), with the renderer's
    placeholders `:name` in DuckDB's spelling `$name`: the names are the renderer's own, and no
    template has a colon in a string literal."""
    sql = statement.sql
    for name in statement.params:
        sql = re.sub(rf"(?<![:\w]):{re.escape(name)}\b", f"${name}", sql)
    return sql


class DuckDBSession:
    """An `EngineSession` on one DuckDB connection; read-only from the start (the file is opened so)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self._connection = connection

    def schema_exists(self, schema: str) -> bool:
        (found,) = self._connection.execute(SCHEMA_EXISTS, {"name": schema}).fetchone()
        return bool(found)

    def stage_inputs(self, tables: Sequence[TempTable]) -> None:
        # Temporary tables live in DuckDB's in-memory temp catalog, writable on a read-only file.
        for table in tables:
            columns = ", ".join(f"{name} {kind}" for name, kind in table.columns)
            self._connection.execute(f"CREATE TEMPORARY TABLE {table.name} ({columns})")
            if table.rows:
                placeholders = ", ".join("?" for _ in table.columns)
                self._connection.executemany(f"INSERT INTO {table.name} VALUES ({placeholders})", table.rows)

    def stage_concept_sets(self, codesets: SqlStatement) -> None:
        self._connection.execute(f"CREATE TEMPORARY TABLE cq_codeset AS {_in_duckdb(codesets)}", codesets.params)

    def start_reading(self) -> None:
        """Nothing to do: the file was opened read-only."""

    def fetch(self, statement: SqlStatement) -> list[tuple]:
        return self._connection.execute(_in_duckdb(statement), statement.params).fetchall()

    def explain(self, statement: SqlStatement) -> str:
        sql = SETTINGS.explain_prefix + _in_duckdb(statement)
        rows = self._connection.execute(sql, statement.params).fetchall()
        return "\n".join(value for row in rows for value in row if value is not None)


class DuckDBEngine:
    settings = SETTINGS

    @contextmanager
    def connect(self, target: Target, cancellable: Cancellable) -> Iterator[DuckDBSession]:
        try:
            with closing(duckdb.connect(target.database_file, read_only=True)) as connection:
                cancellable.watch(connection)
                with _time_limit(connection, target.timeout_seconds):
                    session = DuckDBSession(connection)
                    check_schemas(target, session.schema_exists)
                    yield session
        except duckdb.Error as error:
            raise explain_driver_error(error, target.error_context()) from None


@contextmanager
def _time_limit(connection: duckdb.DuckDBPyConnection, seconds: int) -> Iterator[None]:
    """DuckDB has no statement timeout: interrupt whatever runs when the time is up."""
    timer = threading.Timer(seconds, connection.interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


ENGINE = DuckDBEngine()
