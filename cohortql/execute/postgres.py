"""PostgreSQL: a READ ONLY transaction, the server's statement_timeout, planner settings that suit the query."""

from __future__ import annotations

import sqlalchemy as sa

from cohortql.execute.engine import EngineSettings
from cohortql.execute.sql_engine import SqlEngine
from cohortql.execute.target import Target, libpq_connect_args

SETTINGS = EngineSettings(
    dialect="postgres",
    # pg_namespace lists every schema; information_schema.schemata hides those without privileges.
    schema_exists="SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = :name",
    # Autovacuum never analyses temporary tables, and without statistics the planner guesses a
    # few hundred rows for a concept set of 50,000.
    analyse_table="ANALYZE {table}",
    # Looking up one concept set, or probing it per row where the planner still nests a loop,
    # reads a few index pages instead of every resolved concept.
    index_concept_sets="CREATE INDEX cq_codeset_lookup ON cq_codeset (codeset_id, concept_id)",
    read_only_transaction=True,
    # PostgreSQL underestimates the entries that survive the window and observation-period
    # filters (a handful for tens of thousands: there are no statistics on CTE outputs), then
    # picks nested loops that re-read an aggregate once per entry. Hash and merge joins, as
    # DuckDB always uses, keep every example under 2 s on 100,000 persons where nested loops
    # took up to 38 s (benchmarks/postgres_examples.py).
    query_settings=("SET LOCAL enable_nestloop = off",),
    explain_prefix="EXPLAIN (ANALYZE, FORMAT JSON) ",
    data_version="catalog",  # COUNT(*) of a large table or a view is no cheap version
)


class PostgresEngine(SqlEngine):
    settings = SETTINGS

    def create_engine(self, target: Target) -> sa.Engine:
        connect_args = libpq_connect_args(target.url, "cohortql")
        return sa.create_engine(target.url, connect_args=connect_args, poolclass=sa.pool.NullPool)

    def start(self, connection: sa.Connection, target: Target) -> None:
        """The time limit, for every statement of the session: the server stops the query itself."""
        connection.exec_driver_sql(
            "SELECT set_config('statement_timeout', %(ms)s, false)", {"ms": str(target.timeout_seconds * 1000)}
        )


ENGINE = PostgresEngine()
