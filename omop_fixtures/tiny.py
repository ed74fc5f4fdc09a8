"""The tiny hand-made CDM: its CSVs loaded into DuckDB, its edge-case definitions and their hand-worked answers.

The expected answers in `tiny/expected.json` were reasoned out person by person (`tiny/EXPECTED.md`),
never computed by cohortql, so the engine can be tested against them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb

from cohortql.render.identifiers import quote_identifier
from omop_fixtures import ddl_statements

TINY_DIR = Path(__file__).with_name("tiny")
CASES_DIR = TINY_DIR / "cases"


def csv_paths() -> list[Path]:
    """One CSV per CDM table, named after the table."""
    return sorted(TINY_DIR.glob("*.csv"))


def _column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return dict(rows)


def _load_csv(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Insert one CSV into the table of the same name; returns the number of rows loaded."""
    table = path.stem
    types = _column_types(con, table)
    if not types:
        raise ValueError(f"{path.name}: no table `{table}` in cdm54.sql")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [row for row in reader if row]
    unknown = [column for column in header if column not in types]
    if unknown:
        raise ValueError(f"{path.name}: columns not in `{table}`: {', '.join(unknown)}")
    if not rows:
        return 0
    # An empty field is NULL; every value goes through a bind parameter and an explicit cast.
    columns = ", ".join(quote_identifier(column) for column in header)
    values = ", ".join(f"CAST(? AS {types[column]})" for column in header)
    con.executemany(
        f"INSERT INTO {quote_identifier(table)} ({columns}) VALUES ({values})",
        [[value if value != "" else None for value in row] for row in rows],
    )
    return len(rows)


def build_duckdb(path: str | Path) -> Path:
    """Create a DuckDB file holding the tiny CDM (all cdm54.sql tables, CSV rows loaded); returns its path.

    `path` is the database file, or a directory to put `tiny.duckdb` in. An existing file is replaced.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "tiny.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        for statement in ddl_statements():
            con.execute(statement)
        for csv_path in csv_paths():
            _load_csv(con, csv_path)
    finally:
        con.close()
    return path


def case_paths() -> list[Path]:
    """The edge-case definitions, in case-number order."""
    return sorted(CASES_DIR.glob("*.cohort"))


def expected() -> dict:
    """Hand-worked answers by case stem: entries, attrition (persons), final, gains."""
    return json.loads((TINY_DIR / "expected.json").read_text(encoding="utf-8"))
