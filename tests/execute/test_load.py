"""`cohortql load`: a CDM copied into PostgreSQL (or DuckDB) holds exactly the source's rows."""

from __future__ import annotations

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from cohortql import pipeline
from cohortql.cli import app
from cohortql.execute.errors import DatabaseError
from cohortql.execute.loader import SourceError, cdm_layout, export_parquet, index_columns, load
from cohortql.execute.runner import run_cohort
from cohortql.execute.target import resolve_target
from cohortql.fixtures import tiny
from cohortql.protect.protector import attrition_counts
from cohortql.render import render
from cohortql.render.identifiers import IdentifierError

CASE = tiny.case_paths()[0]
# Rows of the tiny fixture's CSV files (header lines excluded): the condition table, all tables.
TINY_ROWS = {p.stem: len(p.read_text(encoding="utf-8").splitlines()) - 1 for p in tiny.csv_paths()}
TINY_CONDITIONS = TINY_ROWS["condition_occurrence"]


@pytest.fixture(autouse=True)
def _no_configured_database(monkeypatch, tmp_path):
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    monkeypatch.delenv("COHORTQL_PROFILE", raising=False)  # no profile: the defaults
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


@pytest.fixture(scope="module")
def pg(postgres_database):
    engine = sa.create_engine(postgres_database, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def _pg_rows(pg, schema, table):
    columns = ", ".join(name for name, _ in cdm_layout()[table])
    with pg.connect() as connection:
        return sorted(connection.exec_driver_sql(f"SELECT {columns} FROM {schema}.{table}").fetchall(), key=repr)


def _duckdb_rows(path, table, schema="main"):
    columns = ", ".join(name for name, _ in cdm_layout()[table])
    with duckdb.connect(str(path), read_only=True) as con:
        return sorted(con.execute(f"SELECT {columns} FROM {schema}.{table}").fetchall(), key=repr)


def _altered_copy(tiny_path, directory, *statements):
    """A copy of the tiny CDM as a DuckDB file, changed by `statements` (e.g. to not fit cdm54.sql)."""
    source = directory / "broken.duckdb"
    with duckdb.connect(str(source)) as con:
        con.execute("ATTACH ? AS t (READ_ONLY)", [str(tiny_path)])
        con.execute("COPY FROM DATABASE t TO broken")
        for statement in statements:
            con.execute(statement)
    return source


@pytest.fixture(scope="module")
def tiny_path(tiny_duckdb_target):
    return tiny_duckdb_target.database_file


@pytest.mark.parametrize("table", list(cdm_layout()))
def test_tiny_in_postgres_is_the_source_row_for_row(table, pg, postgres_tiny, tiny_path):
    # dates, timestamps, doubles, NULLs and empty strings survive the CSV stream
    assert _pg_rows(pg, "tiny", table) == _duckdb_rows(tiny_path, table)


@pytest.mark.parametrize("table", ["measurement", "concept", "drug_exposure", "cdm_source"])
def test_eunomia_in_postgres_is_the_source_row_for_row(table, pg, postgres_eunomia):
    from cohortql.execute.eunomia import eunomia_cdm_path

    assert _pg_rows(pg, "eunomia", table) == _duckdb_rows(eunomia_cdm_path(), table)


def test_indexes_and_statistics(pg, postgres_tiny):
    with pg.connect() as connection:
        (indexes,) = connection.exec_driver_sql("SELECT count(*) FROM pg_indexes WHERE schemaname = 'tiny'").one()
        unanalysed = connection.exec_driver_sql(
            "SELECT relname FROM pg_stat_all_tables WHERE schemaname = 'tiny' AND last_analyze IS NULL"
        ).fetchall()
    assert indexes == len(index_columns()) + 1  # and the pattern index on concept codes
    assert unanalysed == []


def test_refuses_a_schema_with_tables_unless_replace(postgres_database, pg, postgres_tiny, tiny_path):
    with pytest.raises(DatabaseError) as refused:
        load(tiny_path, postgres_database, "tiny")
    assert refused.value.cause == "schema `tiny` already holds 19 tables or views"
    assert "--replace" in refused.value.hint
    result = load(tiny_path, postgres_database, "tiny_again")
    assert result.rows["person"] == 37
    assert load(tiny_path, postgres_database, "tiny_again", replace=True).rows == result.rows


@pytest.mark.parametrize(
    ("broken", "cause"),
    [
        ("UPDATE person SET person_source_value = repeat('x', 51) WHERE person_id = 3",
         "cannot load person: value too long for type character varying(50) (column person_source_value, row 3)"),
        ("CREATE OR REPLACE TABLE measurement AS SELECT 'not a number' AS measurement_id",
         "the database refused the query: Conversion Error: Could not convert string 'not a number' to INT64"),
    ],
)  # fmt: skip
def test_a_failed_replace_leaves_the_old_schema(broken, cause, postgres_database, pg, tmp_path, tiny_path):
    load(tiny_path, postgres_database, "kept", replace=True)
    source = _altered_copy(tiny_path, tmp_path, broken)
    with pytest.raises(DatabaseError) as failed:
        load(str(source), postgres_database, "kept", replace=True)
    assert failed.value.cause.startswith(cause)
    assert len(_pg_rows(pg, "kept", "person")) == 37
    assert len(_pg_rows(pg, "kept", "measurement")) == TINY_ROWS["measurement"]


def test_parquet_directory_with_other_names_and_missing_tables(postgres_database, pg, tmp_path, tiny_path):
    source = tmp_path / "parquet"
    (source / "person").mkdir(parents=True)
    with duckdb.connect(str(tiny_path), read_only=True) as con:
        # upper-case column names and an extra column; a table as a directory of parts; no death table
        con.execute(f"COPY (SELECT PERSON_ID, YEAR_OF_BIRTH, * EXCLUDE (person_id, year_of_birth), 1 AS extra"
                    f" FROM person) TO '{source}/person/part-0.parquet' (FORMAT parquet)")  # fmt: skip
        for table in cdm_layout():
            if table not in ("person", "death"):
                con.execute(f"COPY {table} TO '{source}/{table}.parquet' (FORMAT parquet)")
    lines = []
    result = load(str(source), postgres_database, "from_parquet", progress=lines.append)
    assert result.rows == load(tiny_path, postgres_database, "tiny_reference").rows
    assert any(line.split()[0] == "death" and "not in the source" in line for line in lines)
    for table in ("person", "measurement", "drug_exposure"):
        assert _pg_rows(pg, "from_parquet", table) == _duckdb_rows(tiny_path, table)


def test_into_a_duckdb_file(tmp_path, tiny_path):
    target = tmp_path / "warehouse.duckdb"
    result = load("tiny", f"duckdb:///{target}", "cdm")  # the fixture by name
    assert result.rows["condition_occurrence"] == TINY_CONDITIONS
    for table in cdm_layout():
        assert _duckdb_rows(target, table, "cdm") == _duckdb_rows(tiny_path, table)
    compiled = pipeline.compile_source(pipeline.read_source(CASE))
    raw = run_cohort(render(compiled.plan, "cdm"), resolve_target(f"duckdb:///{target}", "cdm"))
    assert attrition_counts(raw) == [s["persons"] for s in tiny.expected()[CASE.stem]["attrition"]]
    with pytest.raises(DatabaseError, match="already holds"):
        load(tiny_path, f"duckdb:///{target}", "cdm")
    assert load(tiny_path, f"duckdb:///{target}", "cdm", replace=True).rows == result.rows
    with pytest.raises(SourceError, match="same DuckDB file"):
        load(str(target), f"duckdb:///{target}", "again")


def test_bad_arguments(postgres_database, tmp_path):
    with pytest.raises(IdentifierError):
        load("tiny", postgres_database, "cdm; DROP TABLE person")
    with pytest.raises(SourceError, match="no such source"):
        load(str(tmp_path / "missing.duckdb"), postgres_database, "x")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(SourceError, match="no OMOP `person` table"):
        load(str(empty), postgres_database, "x")


def test_cli_load_then_count(postgres_database, eunomia_target):
    url = make_url(postgres_database).set(password="Pw-never-shown").render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["load", "tiny", "--db", url, "--schema", "cli_tiny"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("loading the tiny hand-made CDM into postgresql://")
    assert {line.split()[0] for line in lines[1:20]} == set(cdm_layout())  # one progress line per table
    assert "Pw-never-shown" not in result.output
    counted = CliRunner().invoke(app, ["count", str(CASE), "--db", url, "--cdm-schema", "cli_tiny", "--format", "json"])
    assert counted.exit_code == 0, counted.output

    again = CliRunner().invoke(app, ["load", "eunomia", "--db", url, "--schema", "cli_tiny"])
    assert again.exit_code == 1
    assert again.stderr.splitlines()[-2:] == [
        "error: schema `cli_tiny` already holds 19 tables or views",
        "  hint: pass --replace to drop it and load again, or choose another --schema",
    ]
    assert CliRunner().invoke(app, ["load", "nosuch", "--db", url, "--schema", "x"]).exit_code == 2
    assert CliRunner().invoke(app, ["load", "eunomia", "--db", url, "--schema", "a b"]).exit_code == 2


# -- Parquet (for Spark) --------------------------------------------------------------------------


def _parquet_rows(directory, table):
    columns = ", ".join(name for name, _ in cdm_layout()[table])
    query = f"SELECT {columns} FROM read_parquet(?)"
    return sorted(duckdb.execute(query, [str(directory / f"{table}.parquet")]).fetchall(), key=repr)


def test_to_parquet_row_for_row_with_the_cdm_types(tmp_path, tiny_path):
    out = tmp_path / "omop"
    lines = []
    result = export_parquet("tiny", out, progress=lines.append)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.parquet" for t in cdm_layout())  # nothing staged
    for table, columns in cdm_layout().items():
        assert _parquet_rows(out, table) == _duckdb_rows(tiny_path, table), table
        described = duckdb.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(out / f"{table}.parquet")])
        assert [(name, kind) for name, kind, *_ in described.fetchall()] == list(columns), table
    assert result.rows["condition_occurrence"] == TINY_CONDITIONS and result.rows["death"] == 0
    assert lines[0] == f"writing the tiny hand-made CDM as Parquet files in {out}"
    assert lines[-1].startswith(f"wrote {sum(TINY_ROWS.values())} rows into 19 Parquet files")


def test_parquet_refuses_existing_tables_unless_replace(tmp_path, tiny_path):
    out = tmp_path / "omop"
    export_parquet(tiny_path, out)
    (out / "notes.txt").write_text("kept")
    with pytest.raises(DatabaseError, match="already holds 19 CDM tables"):
        export_parquet("tiny", out)
    # an earlier copy written as a directory of parts is replaced by the file, not read beside it
    (out / "person").mkdir()
    (out / "person.parquet").rename(out / "person" / "part-0.parquet")
    assert export_parquet("tiny", out, replace=True).rows["person"] == 37
    assert not (out / "person").exists() and (out / "notes.txt").read_text() == "kept"
    assert _parquet_rows(out, "person") == _duckdb_rows(tiny_path, "person")
    with pytest.raises(SourceError, match="same directory"):
        export_parquet(str(out), out, replace=True)
    with pytest.raises(SourceError, match="is a file"):
        export_parquet("tiny", out / "notes.txt")


def test_a_failed_parquet_export_leaves_the_old_files(tmp_path, tiny_path):
    out = tmp_path / "omop"
    export_parquet(tiny_path, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    source = _altered_copy(
        tiny_path, tmp_path,
        "ALTER TABLE measurement ALTER value_as_number TYPE VARCHAR",
        "UPDATE measurement SET value_as_number = 'high' WHERE measurement_id = 101",
    )  # fmt: skip
    with pytest.raises(DatabaseError, match="cannot load measurement: .*high"):
        export_parquet(str(source), out, replace=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no staging left, nothing half-replaced


def test_cli_load_parquet(tmp_path):
    out = tmp_path / "omop"
    result = CliRunner().invoke(app, ["load", "tiny", "--parquet", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert {line.split()[0] for line in lines[1:20]} == set(cdm_layout())  # one progress line per table
    assert (out / "person.parquet").is_file()
    again = CliRunner().invoke(app, ["load", "tiny", "--parquet", str(out)])
    assert again.exit_code == 1
    assert again.stderr.splitlines()[-1] == "  hint: pass --replace to overwrite them, or choose another directory"
    for arguments, message in [
        (["--parquet", str(out), "--db", "duckdb:///x.duckdb"], "name one target"),
        ([], "name one target"),
        (["--db", "duckdb:///x.duckdb"], "--db needs --schema"),
        (["--parquet", str(tmp_path / "other"), "--schema", "cdm"], "--schema goes with --db"),
    ]:
        refused = CliRunner().invoke(app, ["load", "tiny", *arguments])
        assert refused.exit_code == 2 and refused.stderr.startswith(f"error: {message}"), arguments
    assert not (tmp_path / "other").exists()


def test_a_failed_parquet_export_into_a_new_directory_leaves_no_directory(tmp_path, tiny_path):
    source = _altered_copy(
        tiny_path, tmp_path,
        "ALTER TABLE person ALTER year_of_birth TYPE VARCHAR",
        "UPDATE person SET year_of_birth = 'unknown' WHERE person_id = 1",
    )  # fmt: skip
    with pytest.raises(DatabaseError, match="cannot load person"):
        export_parquet(str(source), tmp_path / "new" / "omop")
    assert not (tmp_path / "new" / "omop").exists()


def test_paths_are_never_sql_text(tmp_path, tiny_path):
    """Paths are bound parameters or Python-API views: quotes and semicolons in them are just names."""
    odd = tmp_path / "o'mop; DROP TABLE person; --"
    export_parquet(tiny_path, odd / "parquet")
    copy = export_parquet(str(odd / "parquet"), odd / "again")
    assert copy.rows == export_parquet("tiny", tmp_path / "plain").rows
    assert _parquet_rows(odd / "again", "person") == _duckdb_rows(tiny_path, "person")
