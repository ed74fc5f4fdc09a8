"""DuckDB, the embedded engine: the CDM file opened read-only, a client-side time limit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from cohortql.execute.engine import EngineSettings
from cohortql.execute.sql_engine import SqlEngine
from cohortql.execute.target import Target

SETTINGS = EngineSettings(
    dialect="duckdb",
    schema_exists="SELECT count(*) FROM information_schema.schemata WHERE schema_name = :name",
    explain_prefix="EXPLAIN ANALYZE ",
    local_file=True,
)


class DuckDBEngine(SqlEngine):
    settings = SETTINGS

    def create_engine(self, target: Target) -> sa.Engine:
        # The CDM file is opened read-only; temporary tables live in DuckDB's in-memory temp catalog.
        return sa.create_engine(target.url, connect_args={"read_only": True}, poolclass=sa.pool.NullPool)

    @contextmanager
    def time_limit(self, dbapi_connection, target: Target) -> Iterator[None]:
        """DuckDB has no statement timeout: interrupt whatever runs when the time is up."""
        timer = threading.Timer(target.timeout_seconds, dbapi_connection.interrupt)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()


ENGINE = DuckDBEngine()
