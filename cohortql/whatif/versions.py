"""A cheap data version of the CDM tables a count reads: what the cache keys carry, per engine.

- DuckDB and Spark: each table's row count and largest id, in one statement (DuckDB keeps row
  counts in its metadata; Spark reads Parquet footers). Any write to a DuckDB file also changes
  the file's size or time, which the CDM identity carries (`engine._cdm_identity`).
- PostgreSQL: the catalog, never a scan (COUNT(*) of a billion-row table, or of a view, is
  anything but cheap): each table's storage file (a TRUNCATE or reload makes a new one), its
  size, and the server's counts of rows inserted, updated and deleted. A view, or anything the
  catalog does not describe as a table, has no cheap version: its vectors are computed afresh
  every time (the key carries a value never seen again), so they are never served stale.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from cohortql.execute.runner import engine_for
from cohortql.execute.target import Target
from cohortql.omop import DOMAINS
from cohortql.render import SqlStatement
from cohortql.render.identifiers import qualifier
from cohortql.whatif import keys

_ID_COLUMNS = {
    **{d.table: d.record_id for d in DOMAINS.values()},
    "person": "person_id",
    "observation_period": "observation_period_id",
    "visit_occurrence": "visit_occurrence_id",
    "care_site": "care_site_id",
    "location": "location_id",
    "concept": "concept_id",
    "concept_ancestor": "descendant_concept_id",
    "concept_relationship": "concept_id_1",
}

# Tables (r) and partitioned tables (p) have a storage file and write counters; views do not.
_VERSIONED_KINDS = ("r", "p")


def _schema(target: Target, table: str) -> str | None:
    return (target.vocab_schema or target.cdm_schema) if table in keys.VOCABULARY_TABLES else target.cdm_schema


def count_statement(tables: tuple[str, ...], target: Target) -> SqlStatement:
    """Row count and largest id of each table, in one statement (table names are our constants)."""
    parts = []
    for table in tables:
        prefix = qualifier(_schema(target, table))
        name = f"{prefix}.{table}" if prefix else table
        column = _ID_COLUMNS[table]
        parts.append(f"SELECT '{table}' AS table_name, COUNT(*) AS row_count, MAX({column}) AS max_id FROM {name}")
    return SqlStatement("\nUNION ALL\n".join(parts), {}, reads_concept_sets=False)


def catalog_statement(tables: tuple[str, ...], target: Target) -> SqlStatement:
    """PostgreSQL: each table's kind, storage file, size and write counters, from the catalog."""
    params: dict = {}
    wanted = []
    for index, table in enumerate(tables):
        params[f"s{index}"], params[f"t{index}"] = _schema(target, table), table
        wanted.append(f"(n.nspname = COALESCE(:s{index}, CURRENT_SCHEMA) AND c.relname = :t{index})")
    sql = (
        "SELECT c.relname AS table_name, c.relkind AS kind, c.relfilenode AS file, pg_relation_size(c.oid) AS bytes,"
        " COALESCE(s.n_tup_ins, 0) AS inserted, COALESCE(s.n_tup_upd, 0) AS updated,"
        " COALESCE(s.n_tup_del, 0) AS deleted"
        " FROM pg_catalog.pg_class AS c"
        " JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_catalog.pg_stat_all_tables AS s ON s.relid = c.oid"
        " WHERE " + " OR ".join(wanted)
    )
    return SqlStatement(sql, params, reads_concept_sets=False)


def data_versions(tables: tuple[str, ...], target: Target, run: Callable[[SqlStatement], list[tuple]]) -> dict:
    """table -> its version (a JSON-able list); `run` is the execute stage's seam."""
    if engine_for(target).settings.data_version == "counts":
        rows = run(count_statement(tables, target))
        return {str(name): [int(count), None if top is None else int(top)] for name, count, top in rows}
    found = {}
    for name, kind, *numbers in run(catalog_statement(tables, target)):
        if kind in _VERSIONED_KINDS:
            found[str(name)] = [int(n) for n in numbers]
    return {table: found.get(table, ["no cheap version", uuid.uuid4().hex]) for table in tables}
