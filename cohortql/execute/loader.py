"""Loads an OMOP CDM into a schema of PostgreSQL (COPY) or DuckDB, or writes it as Parquet files.

Sources: `tiny` (the hand-made fixture), `eunomia` (the normalised demo cache), a DuckDB file
(tables in its `main` schema) or a directory of Parquet files (`person.parquet` or `person/*.parquet`).
Every source is read through DuckDB; the tables and column types are those of
`cohortql/fixtures/cdm54.sql`: source columns are matched by name (case-insensitively) and cast,
columns the source lacks are NULL, tables it lacks are created empty. One loop copies the
tables (`_write_tables`); each target is a writer of one table (COPY, INSERT, Parquet COPY TO).

PostgreSQL: one transaction (a failed or interrupted load leaves nothing behind; `replace`
swaps the schema atomically): CREATE SCHEMA, the DDL, one COPY per table streamed as CSV from
DuckDB in chunks, indexes on person ids, concept ids and start dates, then ANALYZE.

Parquet (`export_parquet`): one file per table, `DIR/<table>.parquet`, for Spark
(`spark:///DIR?format=parquet`); written beside the old files and moved into place at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import psycopg2
import sqlalchemy as sa
from sqlalchemy.engine import URL

from cohortql.credentials import secrets_of
from cohortql.execute.cancel import Cancellable, run_cancellable
from cohortql.execute.errors import DatabaseError, ErrorContext, explain_driver_error
from cohortql.execute.target import database_url, libpq_connect_args, safe_url_text, server_text
from cohortql.fixtures import ddl_statements
from cohortql.omop import DOMAINS
from cohortql.render.identifiers import quote_identifier

ROWS_PER_CHUNK = 50_000
NOT_CDM54_HINT = "the source does not fit OMOP CDM 5.4 as in cohortql/fixtures/cdm54.sql; correct it where it is made"
Progress = Callable[[str], None]


class SourceError(DatabaseError):
    """SOURCE names nothing loadable (a usage error, not a database failure)."""


@dataclass(frozen=True)
class TableLoad:
    table: str
    rows: int
    seconds: float
    in_source: bool


@dataclass(frozen=True)
class LoadResult:
    target: str  # the database, without credentials
    schema: str
    tables: tuple[TableLoad, ...]
    seconds: float

    @property
    def rows(self) -> dict[str, int]:
        return {t.table: t.rows for t in self.tables}


@lru_cache(maxsize=1)
def cdm_layout() -> dict[str, tuple[tuple[str, str], ...]]:
    """Table -> ((column, DuckDB type), ...) of cdm54.sql, in DDL order."""
    con = duckdb.connect()
    try:
        tables = []
        for statement in ddl_statements():
            con.execute(statement)
            tables.append(statement.split()[2])
        return {
            table: tuple(
                con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns"
                    " WHERE table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
            )
            for table in tables
        }
    finally:
        con.close()


def index_columns() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(table, columns) of each index: what the cohort query and the concept-set build look up."""
    indexes = [("person", ("person_id",)), ("observation_period", ("person_id", "observation_period_start_date"))]
    for domain in DOMAINS.values():
        indexes += [(domain.table, ("person_id", domain.start_date)), (domain.table, (domain.concept_id,))]
    indexes += [
        ("visit_occurrence", ("visit_occurrence_id",)),  # the visit type of a clinical event
        ("concept", ("concept_id",)),
        ("concept", ("vocabulary_id", "concept_code")),  # source codes by vocabulary and LIKE pattern
        ("concept_ancestor", ("ancestor_concept_id",)),
        ("concept_relationship", ("concept_id_1", "relationship_id")),
    ]
    return tuple(dict.fromkeys(indexes))


# -- sources --------------------------------------------------------------------------------------


def _source_path(source: str, workdir: Path) -> tuple[Path, str]:
    """The DuckDB file or Parquet directory behind SOURCE, and a description of it."""
    if source == "tiny":
        from cohortql.fixtures import tiny

        return tiny.build_duckdb(workdir / "tiny.duckdb"), "the tiny hand-made CDM"
    if source == "eunomia":
        from cohortql.execute.eunomia import eunomia_cdm_path

        return eunomia_cdm_path(), "the Eunomia demo CDM"
    path = Path(source)
    if not path.exists():
        raise SourceError(
            f"no such source: {source}", "use `tiny`, `eunomia`, a DuckDB file or a directory of Parquet files"
        )
    return path, str(path)


def _attach_source(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    """Make the source readable in `con`; returns CDM table -> SQL relation for the tables it has.

    File paths never enter SQL text: a Parquet table becomes a temporary view made through the
    Python API, a DuckDB file is attached with a bound parameter.
    """
    layout = cdm_layout()
    if path.is_dir():
        relations = {}
        for table in layout:
            files = [p for p in (path / f"{table}.parquet", path / table) if p.exists()]
            if files:
                pattern = str(files[0] / "*.parquet") if files[0].is_dir() else str(files[0])
                view = f"cohortql_source_{table}"
                con.read_parquet(pattern).create_view(view, replace=True)
                relations[table] = quote_identifier(view)
    else:
        try:
            con.execute("ATTACH ? AS cohortql_load_source (READ_ONLY)", [str(path)])
        except duckdb.Error as error:
            raise SourceError(f"cannot open {path} as a DuckDB database", str(error).splitlines()[0]) from None
        found = con.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_catalog = 'cohortql_load_source' AND table_schema = 'main'"
        ).fetchall()
        names = {name.lower(): name for (name,) in found}
        relations = {t: f"cohortql_load_source.main.{quote_identifier(names[t])}" for t in layout if t in names}
    if "person" not in relations:
        raise SourceError(f"{path} holds no OMOP `person` table", "a source needs the CDM tables (cdm54.sql names)")
    return relations


def _columns(con: duckdb.DuckDBPyConnection, table: str, relation: str | None) -> list[tuple[str, str, str]]:
    """(name, DuckDB type, value cast to that type) of each CDM column of `table`, read from `relation`."""
    present = {}
    if relation is not None:
        present = {row[0].lower(): row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    return [
        (name, kind, f"CAST({quote_identifier(present[name]) if name in present else 'NULL'} AS {kind})")
        for name, kind in cdm_layout()[table]
    ]


def _from(relation: str | None) -> str:
    return relation if relation is not None else "(SELECT 1) AS nothing WHERE FALSE"


def _report(progress: Progress, table: str, rows: int, started: float, in_source: bool) -> TableLoad:
    seconds = time.perf_counter() - started
    note = "" if in_source else "  (not in the source: left empty)"
    progress(f"  {table:<22} {rows:>12,} rows {seconds:7.1f} s{note}")
    return TableLoad(table, rows, seconds, in_source)


# Writes one CDM table into the target: (table, its columns as `_columns` gives them, the SQL
# relation to read it from) -> rows written.
TableWriter = Callable[[str, list[tuple[str, str, str]], str], int]


def _write_tables(
    con: duckdb.DuckDBPyConnection,
    relations: dict[str, str],
    write: TableWriter,
    progress: Progress,
    cancellable: Cancellable,
) -> list[TableLoad]:
    """Every table of cdm54.sql, in DDL order, read from the source's `relations` in `con`, written by `write`."""
    loads = []
    for table in cdm_layout():
        cancellable.check()
        started = time.perf_counter()
        columns = _columns(con, table, relations.get(table))
        rows = write(table, columns, _from(relations.get(table)))
        loads.append(_report(progress, table, rows, started, table in relations))
    return loads


def _refuse_to_overwrite(schema: str, relations: int, replace: bool) -> None:
    if relations and not replace:
        raise DatabaseError(
            f"schema `{schema}` already holds {relations} tables or views",
            "pass --replace to drop it and load again, or choose another --schema",
        )


# -- PostgreSQL -----------------------------------------------------------------------------------


def _csv_line(columns: list[tuple[str, str, str]]) -> str:
    """A CSV line per row: text quoted (so an empty string stays one), NULL an unquoted empty field.

    concat_ws builds the line in one allocation (a chain of || costs twice the time); it skips
    NULLs, so every field is coalesced first.
    """
    fields = [
        f"""coalesce('"' || replace({value}, '"', '""') || '"', '')"""
        if kind == "VARCHAR"
        else f"coalesce(CAST({value} AS VARCHAR), '')"
        for _, kind, value in columns
    ]
    return f"concat_ws(',', {', '.join(fields)})"


class _CsvStream:
    """A file-like `read()` over CSV lines rendered by DuckDB and fetched in chunks, for COPY."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection):
        self._cursor = cursor
        self._buffer = memoryview(b"")
        self.rows = 0

    def read(self, size: int = -1) -> bytes:
        while not self._buffer:
            chunk = self._cursor.fetchmany(ROWS_PER_CHUNK)
            if not chunk:
                return b""
            self.rows += len(chunk)
            self._buffer = memoryview("".join(line + "\n" for (line,) in chunk).encode("utf-8"))
        size = len(self._buffer) if size is None or size < 0 else size
        piece, self._buffer = self._buffer[:size], self._buffer[size:]
        return bytes(piece)


def _does_not_fit(table: str, error: psycopg2.Error) -> DatabaseError:
    """A row PostgreSQL rejects (DuckDB ignores VARCHAR lengths): name the table, column and row."""
    message = (error.diag.message_primary or str(error)).strip()
    where = re.search(r"line (\d+), column (\w+)", error.diag.context or "")
    at = f" (column {where.group(2)}, row {where.group(1)})" if where else ""
    return DatabaseError(
        f"cannot load {table}: {message}{at}",
        NOT_CDM54_HINT,
    )


@contextmanager
def _fits(table: str) -> Iterator[None]:
    """A source value DuckDB cannot cast to its CDM type: name the table (the message names the column)."""
    try:
        yield
    except duckdb.ConversionException as error:
        raise DatabaseError(f"cannot load {table}: {str(error).splitlines()[0]}", NOT_CDM54_HINT) from None


def _pg_prepare_schema(cursor, schema: str, replace: bool) -> None:
    cursor.execute(
        "SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = %(s)s),"
        " (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        "  WHERE n.nspname = %(s)s AND c.relkind IN ('r', 'v', 'm', 'p', 'f'))",
        {"s": schema},
    )
    exists, relations = cursor.fetchone()
    _refuse_to_overwrite(schema, relations, replace)
    if relations:
        cursor.execute(f"DROP SCHEMA {quote_identifier(schema)} CASCADE")
    if relations or not exists:
        cursor.execute(f"CREATE SCHEMA {quote_identifier(schema)}")


def _pg_index_and_analyse(cursor, progress: Progress, cancellable: Cancellable) -> None:
    started = time.perf_counter()
    indexes = index_columns()
    for table, columns in indexes:
        cancellable.check()
        cursor.execute(
            f"CREATE INDEX {quote_identifier('_'.join((table, *columns))[:59] + '_idx')}"
            f" ON {quote_identifier(table)} ({', '.join(quote_identifier(c) for c in columns)})"
        )
    # LIKE 'E11%' on concept codes can use an index only with pattern ops outside the C locale.
    cursor.execute("CREATE INDEX concept_code_pattern_idx ON concept (vocabulary_id, concept_code varchar_pattern_ops)")
    progress(f"  indexes: {len(indexes) + 1} in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    for table in cdm_layout():
        cancellable.check()
        cursor.execute(f"ANALYZE {quote_identifier(table)}")
    progress(f"  analysed {len(cdm_layout())} tables in {time.perf_counter() - started:.1f} s")


def _copy_writer(con: duckdb.DuckDBPyConnection, cursor) -> TableWriter:
    """A table as CSV rendered by DuckDB, streamed into PostgreSQL's COPY."""

    def write(table: str, columns: list[tuple[str, str, str]], relation: str) -> int:
        stream = _CsvStream(con.execute(f"SELECT {_csv_line(columns)} FROM {relation}"))
        names = ", ".join(quote_identifier(name) for name, _, _ in columns)
        try:
            copy = f"COPY {quote_identifier(table)} ({names}) FROM STDIN WITH (FORMAT csv)"
            cursor.copy_expert(copy, stream, 1 << 20)
        except (psycopg2.DataError, psycopg2.IntegrityError) as error:
            raise _does_not_fit(table, error) from None
        return stream.rows

    return write


def _load_postgres(
    url: URL, schema: str, replace: bool, source: Path, progress: Progress, cancellable: Cancellable
) -> list[TableLoad]:
    engine = sa.create_engine(url, connect_args=libpq_connect_args(url, "cohortql load"), poolclass=sa.pool.NullPool)
    with ExitStack() as stack:
        con = stack.enter_context(duckdb.connect())
        cancellable.watch(con)
        relations = _attach_source(con, source)
        pg = engine.raw_connection()
        stack.callback(pg.close)
        cancellable.watch(pg.dbapi_connection)
        try:
            cursor = pg.cursor()
            _pg_prepare_schema(cursor, schema, replace)
            cursor.execute(f"SET LOCAL search_path TO {quote_identifier(schema)}")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # faster index builds
            for statement in ddl_statements():
                cursor.execute(statement)
            loads = _write_tables(con, relations, _copy_writer(con, cursor), progress, cancellable)
            _pg_index_and_analyse(cursor, progress, cancellable)
            pg.commit()
        except BaseException:
            pg.rollback()
            raise
    return loads


# -- DuckDB ---------------------------------------------------------------------------------------


def _insert_writer(con: duckdb.DuckDBPyConnection) -> TableWriter:
    def write(table: str, columns: list[tuple[str, str, str]], relation: str) -> int:
        values = ", ".join(value for _, _, value in columns)
        with _fits(table):
            (rows,) = con.execute(f"INSERT INTO {quote_identifier(table)} SELECT {values} FROM {relation}").fetchone()
        return rows

    return write


def _load_duckdb(
    url: URL, schema: str, replace: bool, source: Path, progress: Progress, cancellable: Cancellable
) -> list[TableLoad]:
    """A DuckDB target needs no COPY or indexes: one INSERT ... SELECT per table, then ANALYZE."""
    target = Path(url.database or "")
    if not url.database or url.database == ":memory:":
        raise SourceError("loading needs a DuckDB file", "use e.g. --db duckdb:///path/to/cdm.duckdb")
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise SourceError("the source and the target are the same DuckDB file", "choose another --db file")
    with duckdb.connect(str(target)) as con:
        cancellable.watch(con)
        relations = _attach_source(con, source)
        con.execute("BEGIN")
        try:
            _duckdb_prepare_schema(con, schema, replace)
            con.execute(f"USE {quote_identifier(schema)}")
            for statement in ddl_statements():
                con.execute(statement)
            loads = _write_tables(con, relations, _insert_writer(con), progress, cancellable)
            con.execute("ANALYZE")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("CHECKPOINT")
    return loads


def _duckdb_prepare_schema(con: duckdb.DuckDBPyConnection, schema: str, replace: bool) -> None:
    (relations,) = con.execute(
        "SELECT (SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = $s)"
        " + (SELECT count(*) FROM duckdb_views() WHERE database_name = current_database() AND schema_name = $s"
        "    AND NOT internal)",
        {"s": schema},
    ).fetchone()
    _refuse_to_overwrite(schema, relations, replace)
    if relations and schema == "main":
        for table in cdm_layout():  # DuckDB's default schema cannot be dropped: empty it
            con.execute(f"DROP TABLE IF EXISTS main.{quote_identifier(table)}")
    elif relations:
        con.execute(f"DROP SCHEMA {quote_identifier(schema)} CASCADE")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")


# -- Parquet --------------------------------------------------------------------------------------


def _existing_tables(directory: Path) -> list[str]:
    return [t for t in cdm_layout() if (directory / f"{t}.parquet").exists() or (directory / t).is_dir()]


def _check_parquet_target(directory: Path, source: str, replace: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise SourceError(f"{directory} is a file", "Parquet tables go into a directory: name a new or empty one")
    if Path(source).exists() and Path(source).resolve() == directory.resolve():
        raise SourceError("the source and the target are the same directory", "choose another directory")
    existing = _existing_tables(directory) if directory.is_dir() else []
    if existing and not replace:
        raise DatabaseError(
            f"{directory} already holds {len(existing)} CDM tables ({', '.join(existing[:3])}, ...)",
            "pass --replace to overwrite them, or choose another directory",
        )


def _parquet_writer(con: duckdb.DuckDBPyConnection, staging: Path) -> TableWriter:
    def write(table: str, columns: list[tuple[str, str, str]], relation: str) -> int:
        values = ", ".join(f"{value} AS {quote_identifier(name)}" for name, _, value in columns)
        target = str(staging / f"{table}.parquet")
        with _fits(table):
            (rows,) = con.execute(f"COPY (SELECT {values} FROM {relation}) TO ? (FORMAT PARQUET)", [target]).fetchone()
        return rows

    return write


def _write_parquet_tables(
    source: Path, staging: Path, progress: Progress, cancellable: Cancellable
) -> list[TableLoad]:
    with duckdb.connect() as con:
        cancellable.watch(con)
        relations = _attach_source(con, source)
        return _write_tables(con, relations, _parquet_writer(con, staging), progress, cancellable)


def _move_into_place(staging: Path, directory: Path) -> None:
    for table in cdm_layout():
        if (directory / table).is_dir():  # an earlier copy written as a directory of files
            shutil.rmtree(directory / table)
        os.replace(staging / f"{table}.parquet", directory / f"{table}.parquet")


def export_parquet(
    source: str, out_dir: str | Path, replace: bool = False, progress: Progress | None = None
) -> LoadResult:
    """Write the CDM named by `source` as `out_dir/<table>.parquet`, one file per table of cdm54.sql.

    Every table is written, empty if the source lacks it (a Parquet file carries its columns), so
    each query finds its tables. The files are staged in a hidden directory inside `out_dir` and
    moved into place only when all are written: a failed or interrupted export leaves `out_dir`
    as it was. Refuses a directory that already holds CDM tables unless `replace`.
    """
    directory = Path(out_dir)
    _check_parquet_target(directory, source, replace)
    progress = progress or (lambda message: None)
    started = time.perf_counter()

    def work(cancellable: Cancellable) -> list[TableLoad]:
        with tempfile.TemporaryDirectory(prefix="cohortql-load-") as workdir:
            path, description = _source_path(source, Path(workdir))
            created = not directory.exists()
            directory.mkdir(parents=True, exist_ok=True)
            progress(f"writing {description} as Parquet files in {directory}")
            staging = Path(tempfile.mkdtemp(prefix=".cohortql-load-", dir=directory))
            try:
                tables = _write_parquet_tables(path, staging, progress, cancellable)
                _move_into_place(staging, directory)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
                if created and not any(directory.iterdir()):
                    directory.rmdir()  # made for this export, which failed: leave nothing
        return tables

    try:
        tables = run_cancellable(work)
    except duckdb.Error as error:
        raise explain_driver_error(error) from None
    except OSError as error:
        cause = f"cannot write {directory}: {error.strerror or error}"
        raise DatabaseError(cause, "check the directory's permissions and free space") from None
    result = LoadResult(str(directory), "", tuple(tables), time.perf_counter() - started)
    progress(f"wrote {sum(t.rows for t in tables):,} rows into {len(tables)} Parquet files in {result.seconds:.1f} s")
    return result


# -- the command ----------------------------------------------------------------------------------

_LOADERS = {"postgresql": _load_postgres, "duckdb": _load_duckdb}


def load(source: str, db: str, schema: str, replace: bool = False, progress: Progress | None = None) -> LoadResult:
    """Load the CDM named by `source` into `schema` of the database at URL `db`.

    Refuses a schema that already holds tables unless `replace`. Ctrl-C cancels and rolls back.
    """
    quote_identifier(schema, "schema name")  # an invalid name raises IdentifierError before anything runs
    url = database_url(db)
    progress = progress or (lambda message: None)
    started = time.perf_counter()

    def work(cancellable: Cancellable) -> list[TableLoad]:
        with tempfile.TemporaryDirectory(prefix="cohortql-load-") as workdir:
            path, description = _source_path(source, Path(workdir))
            progress(f"loading {description} into {safe_url_text(url)}, schema {schema}")
            return _LOADERS[url.get_backend_name()](url, schema, replace, path, progress, cancellable)

    try:
        tables = run_cancellable(work)
    except (sa.exc.DBAPIError, psycopg2.Error, duckdb.Error) as error:
        context = ErrorContext(schema=schema, server=server_text(url), secrets=secrets_of(url))
        raise explain_driver_error(error, context) from None
    result = LoadResult(safe_url_text(url), schema, tuple(tables), time.perf_counter() - started)
    progress(f"loaded {sum(t.rows for t in tables):,} rows into {len(tables)} tables in {result.seconds:.1f} s")
    return result
