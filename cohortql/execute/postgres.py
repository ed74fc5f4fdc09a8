"""PostgreSQL on SQLAlchemy and psycopg2: a READ ONLY transaction, the server's statement_timeout, planner settings.

Read-only on the CDM: only temporary tables are written (cq_codeset_item, cq_codeset_source,
cq_codeset), committed before the query runs in a READ ONLY transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from cohortql.execute.cancel import Cancellable
from cohortql.execute.engine import EngineSettings, check_schemas
from cohortql.execute.errors import DatabaseError, explain_driver_error
from cohortql.execute.target import Target, libpq_connect_args
from cohortql.render import SqlStatement, TempTable
from cohortql.transpile import transpile

SETTINGS = EngineSettings(
    dialect="postgres",
    explain_prefix="EXPLAIN (ANALYZE, FORMAT JSON) ",
    data_version="catalog",  # COUNT(*) of a large table or a view is no cheap version
)
# pg_namespace lists every schema; information_schema.schemata hides those without privileges.
SCHEMA_EXISTS = "SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = :name"
# Autovacuum never analyses temporary tables, and without statistics the planner guesses a few
# hundred rows for a concept set of 50,000.
ANALYSE_TABLE = "ANALYZE {table}"
# Looking up one concept set, or probing it per row where the planner still nests a loop, reads a
# few index pages instead of every resolved concept.
INDEX_CONCEPT_SETS = "CREATE INDEX cq_codeset_lookup ON cq_codeset (codeset_id, concept_id)"
# PostgreSQL underestimates the entries that survive the window and observation-period filters (a
# handful for tens of thousands: there are no statistics on CTE outputs), then picks nested loops
# that re-read an aggregate once per entry. Hash and merge joins, as DuckDB always uses, keep every
# example under 2 s on 100,000 persons where nested loops took up to 38 s
# (benchmarks/postgres_examples.py). Set for the READ ONLY transaction only (SET LOCAL).
QUERY_SETTINGS = ("SET LOCAL enable_nestloop = off",)


class PostgresSession:
    """An `EngineSession` on one SQLAlchemy connection."""

    def __init__(self, connection: sa.Connection):
        self._connection = connection

    def schema_exists(self, schema: str) -> bool:
        (found,) = self._connection.execute(sa.text(SCHEMA_EXISTS), {"name": schema}).one()
        return bool(found)

    def stage_inputs(self, tables: Sequence[TempTable]) -> None:
        for table in tables:
            columns = ", ".join(f"{name} {kind}" for name, kind in table.columns)
            self._execute(transpile(f"CREATE TEMPORARY TABLE {table.name} ({columns})", SETTINGS.dialect))
            if table.rows:
                names = [name for name, _ in table.columns]
                placeholders = ", ".join(":" + name for name in names)
                insert = sa.text(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})")
                self._connection.execute(insert, [dict(zip(names, row, strict=True)) for row in table.rows])
            self._execute(ANALYSE_TABLE.format(table=table.name))

    def stage_concept_sets(self, codesets: SqlStatement) -> None:
        query = transpile(codesets.sql, SETTINGS.dialect)
        self._execute(f"CREATE TEMPORARY TABLE cq_codeset AS {query}", codesets.params)
        self._execute(INDEX_CONCEPT_SETS)
        self._execute(ANALYSE_TABLE.format(table="cq_codeset"))

    def start_reading(self) -> None:
        """Keep the temporary tables (they live for the session) and read the CDM read-only from here."""
        self._connection.commit()
        self._execute("SET TRANSACTION READ ONLY")
        for setting in QUERY_SETTINGS:
            self._execute(setting)

    def fetch(self, statement: SqlStatement) -> list[tuple]:
        return [tuple(row) for row in self._run(statement, "")]

    def explain(self, statement: SqlStatement) -> str:
        rows = self._run(statement, SETTINGS.explain_prefix)
        # psycopg2 hands back PostgreSQL's JSON plan parsed
        return "\n".join(v if isinstance(v, str) else json.dumps(v) for row in rows for v in row if v is not None)

    def _run(self, statement: SqlStatement, prefix: str) -> list:
        return self._execute(prefix + transpile(statement.sql, SETTINGS.dialect), statement.params).fetchall()

    def _execute(self, sql: str, params: dict | None = None):
        return self._connection.exec_driver_sql(sql, params or None)


class PostgresEngine:
    settings = SETTINGS

    @contextmanager
    def connect(self, target: Target, cancellable: Cancellable) -> Iterator[PostgresSession]:
        url = sa.engine.make_url(target.url)
        engine = sa.create_engine(url, connect_args=libpq_connect_args(url, "cohortql"), poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                cancellable.watch(connection.connection.dbapi_connection)
                # The time limit, for every statement of the session: the server stops the query itself.
                connection.exec_driver_sql("SELECT set_config('statement_timeout', %(ms)s, false)",
                                           {"ms": str(target.timeout_seconds * 1000)})
                session = PostgresSession(connection)
                check_schemas(target, session.schema_exists)
                yield session
                connection.rollback()
        except DBAPIError as error:
            raise explain_driver_error(error, target.error_context()) from None
        except SQLAlchemyError as error:
            raise DatabaseError(f"database error: {error.__class__.__name__}", None) from None


ENGINE = PostgresEngine()
