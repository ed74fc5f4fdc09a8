"""Eunomia replicated N times: real-shaped data at benchmark scale, every copy a new set of persons.

Copy c (0-based) of every row of a table holding person data gets all its person and event ids
(person_id, visit_occurrence_id, condition_occurrence_id, ...) shifted by c * ID_OFFSET, so
copies never share a person or an event and every link (an event's visit, a visit's preceding
visit) stays inside its copy. Concept ids, care sites, locations and providers are shared
reference data and are not shifted. Vocabulary and other tables without person data
(concept, concept_ancestor, care_site, cdm_source, ...) are copied once. Copy 0 is Eunomia itself,
so any count on N copies is exactly N times the count on Eunomia.

    python -m omop_fixtures.scale_eunomia --copies 10 --out eunomia_x10.duckdb
"""

from __future__ import annotations

import argparse
import os
import uuid
from pathlib import Path

import duckdb

from cohortql.render.identifiers import quote_identifier
from omop_fixtures import ddl_statements

ID_OFFSET = 1_000_000_000

# Columns holding the id of a person or of one of their records (never a concept, site or provider).
SHIFTED_COLUMNS = frozenset({
    "person_id",
    "observation_period_id",
    "visit_occurrence_id",
    "preceding_visit_occurrence_id",
    "visit_detail_id",
    "condition_occurrence_id",
    "drug_exposure_id",
    "procedure_occurrence_id",
    "device_exposure_id",
    "measurement_id",
    "observation_id",
    "measurement_event_id",
    "observation_event_id",
    "condition_era_id",
    "drug_era_id",
})


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [name for (name,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database()"
        " AND table_schema = 'main' AND table_name = ? ORDER BY ordinal_position", [table]
    ).fetchall()]


def _check_offset(con: duckdb.DuckDBPyConnection, table: str, shifted: list[str]) -> None:
    for column in shifted:
        query = f"SELECT max(abs({quote_identifier(column)})) FROM src.main.{quote_identifier(table)}"
        (largest,) = con.execute(query).fetchall()[0]
        if largest is not None and largest >= ID_OFFSET:
            raise ValueError(f"{table}.{column} holds ids >= {ID_OFFSET:,}: copies would collide")


def scale_eunomia(out: str | Path, copies: int, source: str | Path | None = None) -> Path:
    """Write `copies` copies of the normalised Eunomia CDM (or of the CDM file `source`) to the DuckDB file `out`."""
    if copies < 1:
        raise ValueError("copies must be at least 1")
    if (copies - 1) * ID_OFFSET > 2**62:
        raise ValueError("too many copies: ids would overflow BIGINT")
    if source is None:
        from cohortql.execute.eunomia import eunomia_cdm_path

        source = eunomia_cdm_path()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.with_name(f".{out.name}.{os.getpid()}-{uuid.uuid4().hex}.tmp")
    try:
        con = duckdb.connect(str(work))
        try:
            con.execute("SET enable_progress_bar = false")
            con.execute("ATTACH ? AS src (READ_ONLY)", [str(source)])
            for statement in ddl_statements():
                con.execute(statement)
            tables = [t for (t,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()"
                " AND table_schema = 'main' ORDER BY table_name"
            ).fetchall()]
            for table in tables:
                name = quote_identifier(table)
                columns = _columns(con, table)
                if "person_id" not in columns:
                    con.execute(f"INSERT INTO main.{name} SELECT * FROM src.main.{name}")
                    continue
                shifted = [c for c in columns if c in SHIFTED_COLUMNS]
                _check_offset(con, table, shifted)
                values = [quote_identifier(c) + (f" + copy * {ID_OFFSET}" if c in shifted else "") for c in columns]
                con.execute(
                    f"INSERT INTO main.{name} SELECT {', '.join(values)}"
                    f" FROM range({int(copies)}) AS copies(copy), src.main.{name}"
                )
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.replace(work, out)
    finally:
        for leftover in (work, work.with_name(work.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    print(scale_eunomia(args.out, args.copies))


if __name__ == "__main__":
    main()
