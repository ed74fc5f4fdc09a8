"""The engine interface on a SQLAlchemy connection, steered by the engine's settings (DuckDB, PostgreSQL).

Read-only on the CDM: only temporary tables are written (cq_codeset_item, cq_codeset_source,
cq_codeset); where the settings ask for it the query runs in a READ ONLY transaction. What
differs between the two engines is their `EngineSettings` and the two hooks of `SqlEngine`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from cohortql.execute.cancel import Cancellable
from cohortql.execute.engine import EngineSettings
from cohortql.execute.errors import SCHEMA_HINT, DatabaseError, explain_driver_error
from cohortql.execute.target import Target
from cohortql.render import SqlStatement, TempTable
from cohortql.transpile.dialects import CANONICAL


class SqlSession:
    """An `EngineSession` on one SQLAlchemy connection."""

    def __init__(self, connection: sa.Connection, settings: EngineSettings):
        self._connection = connection
        self._settings = settings

    def check_schemas(self, target: Target) -> None:
        """A missing schema would otherwise surface as a missing table; name it instead."""
        for schema in dict.fromkeys(s for s in (target.cdm_schema, target.vocab_schema) if s):
            (found,) = self._connection.execute(sa.text(self._settings.schema_exists), {"name": schema}).one()
            if not found:
                raise DatabaseError(f"schema not found: {schema}", SCHEMA_HINT)

    def stage_inputs(self, tables: Sequence[TempTable]) -> None:
        for table in tables:
            columns = ", ".join(f"{name} {kind}" for name, kind in table.columns)
            self._execute(self._in_dialect(f"CREATE TEMPORARY TABLE {table.name} ({columns})"))
            if table.rows:
                names = [name for name, _ in table.columns]
                placeholders = ", ".join(":" + name for name in names)
                insert = sa.text(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})")
                self._connection.execute(insert, [dict(zip(names, row, strict=True)) for row in table.rows])
            self._analyse(table.name)

    def stage_concept_sets(self, codesets: SqlStatement) -> None:
        query = self._in_dialect(codesets.sql, codesets.params)
        self._execute(f"CREATE TEMPORARY TABLE cq_codeset AS {query}", codesets.params)
        if self._settings.index_concept_sets:
            self._execute(self._settings.index_concept_sets)
        self._analyse("cq_codeset")

    def start_reading(self) -> None:
        """Keep the temporary tables (they live for the session) and read the CDM read-only from here."""
        if self._settings.read_only_transaction:
            self._connection.commit()
            self._execute("SET TRANSACTION READ ONLY")
        for setting in self._settings.query_settings:
            self._execute(setting)

    def fetch(self, statement: SqlStatement) -> list[tuple]:
        return [tuple(row) for row in self._run(statement, "")]

    def explain(self, statement: SqlStatement) -> str:
        rows = self._run(statement, self._settings.explain_prefix)
        # psycopg2 hands back PostgreSQL's JSON plan parsed; DuckDB gives text
        return "\n".join(v if isinstance(v, str) else json.dumps(v) for row in rows for v in row if v is not None)

    def _run(self, statement: SqlStatement, prefix: str) -> list:
        return self._execute(prefix + self._in_dialect(statement.sql, statement.params), statement.params).fetchall()

    def _in_dialect(self, sql: str, params: dict | None = None) -> str:
        """The engine's SQL. Where the engine speaks the canonical dialect, the rendered SQL itself (no
        sqlglot round trip), with the renderer's placeholders `:name` in DuckDB's spelling `$name`:
        the names are the renderer's own, and no template has a colon in a string literal."""
        if self._settings.dialect != CANONICAL:
            from cohortql.transpile import transpile

            return transpile(sql, self._settings.dialect)
        for name in params or ():
            sql = re.sub(rf"(?<![:\w]):{re.escape(name)}\b", f"${name}", sql)
        return sql

    def _analyse(self, table: str) -> None:
        if self._settings.analyse_table:
            self._execute(self._settings.analyse_table.format(table=table))

    def _execute(self, sql: str, params: dict | None = None):
        return self._connection.exec_driver_sql(sql, params or None)


class SqlEngine:
    """An `Engine` on SQLAlchemy; a subclass gives its settings, how to open it, and its time limit."""

    settings: EngineSettings

    def create_engine(self, target: Target) -> sa.Engine:
        """A SQLAlchemy engine on the target, without a pool (each run opens its own connection)."""
        raise NotImplementedError

    def start(self, connection: sa.Connection, target: Target) -> None:
        """Session settings, before anything else runs."""

    def time_limit(self, dbapi_connection, target: Target) -> AbstractContextManager:
        """What stops a statement at the time limit, when the server does not do it itself."""
        return nullcontext()

    @contextmanager
    def connect(self, target: Target, cancellable: Cancellable) -> Iterator[SqlSession]:
        try:
            with self.create_engine(target).connect() as connection:
                dbapi = connection.connection.dbapi_connection
                cancellable.watch(dbapi)
                with self.time_limit(dbapi, target):
                    self.start(connection, target)
                    session = SqlSession(connection, self.settings)
                    session.check_schemas(target)
                    yield session
                connection.rollback()
        except DBAPIError as error:
            raise explain_driver_error(error, target.error_context()) from None
        except SQLAlchemyError as error:
            raise DatabaseError(f"database error: {error.__class__.__name__}", None) from None
