"""The synthetic CDM generator and the Eunomia scaler: determinism, integrity, vocabulary, answers."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pytest

import cohortql
from cohortql import pipeline
from cohortql.execute.runner import run_cohort
from cohortql.execute.target import resolve_target
from cohortql.fixtures import ddl_statements
from cohortql.fixtures.scale_eunomia import ID_OFFSET, scale_eunomia
from cohortql.fixtures.synthetic import eras, generate, table_checksums
from cohortql.omop import DOMAINS
from cohortql.protect.protector import attrition_counts, gain_counts
from cohortql.render import render
from tests.conftest import CDM_KEYS, REPO

SYNTHETIC_EXAMPLES = ["q7_type2_diabetes_trial", "q8_heart_failure", "q9_breast_cancer_chemo"]
EVENT_TABLES = {  # table -> start date column
    "condition_occurrence": "condition_start_date",
    "drug_exposure": "drug_exposure_start_date",
    "procedure_occurrence": "procedure_date",
    "measurement": "measurement_date",
    "observation": "observation_date",
    "visit_occurrence": "visit_start_date",
}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("synthetic") / "small.duckdb", 2000, seed=1)


@pytest.fixture(scope="module")
def con(small):
    connection = duckdb.connect(str(small), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    """20,000 persons: enough for every rule of q7-q9 to remove someone."""
    return generate(tmp_path_factory.mktemp("synthetic") / "medium.duckdb", 20_000, seed=42)


def one(con, sql, params=None):
    return con.execute(sql, params or []).fetchall()[0][0]


# Determinism ---------------------------------------------------------------------------------------

def test_same_seed_same_tables_whatever_the_chunking(small, tmp_path):
    again = generate(tmp_path / "again.duckdb", 2000, seed=1, chunk_persons=700, threads=1)
    assert table_checksums(again) == table_checksums(small)


def test_another_seed_other_data(small, tmp_path):
    other = table_checksums(generate(tmp_path / "other.duckdb", 2000, seed=2))
    mine = table_checksums(small)
    assert other["concept"] == mine["concept"]  # the vocabulary is fixed
    for table in ("person", "visit_occurrence", "condition_occurrence", "measurement", "drug_era"):
        assert other[table] != mine[table], table


def test_parquet_output_holds_the_same_rows(small, tmp_path):
    out = generate(str(tmp_path / "parquet") + "/", 2000, seed=1)
    mine = table_checksums(small)
    assert {p.stem for p in out.glob("*.parquet")} == set(mine)
    con = duckdb.connect()
    for table, (rows, _) in mine.items():
        assert one(con, f"SELECT count(*) FROM read_parquet('{out / table}.parquet')") == rows, table
    assert not list(out.glob(".*")), "the working database is removed"


def test_bad_sizes_are_refused(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path / "x.duckdb", 0)
    with pytest.raises(ValueError):
        generate(tmp_path / "x.duckdb", 10, chunk_persons=0)


# Shape and integrity -------------------------------------------------------------------------------

def test_text_fits_the_ddl_lengths(con):
    """DuckDB does not enforce VARCHAR(n); PostgreSQL does, and `cohortql load` must accept the data."""
    for statement in ddl_statements():
        table = re.search(r"CREATE TABLE (\w+)", statement).group(1)
        for column, length in re.findall(r"(\w+) VARCHAR\((\d+)\)", statement):
            longest = one(con, f"SELECT coalesce(max(length({column})), 0) FROM {table}")
            assert longest <= int(length), f"{table}.{column}: {longest} > {length}"


def test_every_table_has_unique_keys(con):
    for table, key in CDM_KEYS.items():
        if table == "device_exposure":
            continue  # the generator writes no device exposures
        rows, distinct = con.execute(f"SELECT count(*), count(DISTINCT {key}) FROM {table}").fetchall()[0]
        assert rows == distinct > 0, table


def test_persons_ages_sexes_and_sites(con):
    assert one(con, "SELECT count(*) FROM person") == 2000
    low, high = con.execute("SELECT min(2025 - year_of_birth), max(2025 - year_of_birth) FROM person").fetchall()[0]
    assert low == 0 and 90 <= high <= 95
    assert {g for (g,) in con.execute("SELECT DISTINCT gender_concept_id FROM person").fetchall()} == {8507, 8532}
    assert one(con, "SELECT count(*) FROM person WHERE care_site_id NOT IN (SELECT care_site_id FROM care_site)") == 0


def test_care_site_hierarchy_is_complete(con):
    groups = con.execute(
        "SELECT l.location_id, count(c.care_site_id) FROM location AS l"
        " LEFT JOIN care_site AS c ON c.location_id = l.location_id GROUP BY l.location_id"
    ).fetchall()
    assert len(groups) >= 3 and all(sites >= 3 for _, sites in groups)
    assert one(con, "SELECT count(*) FROM care_site WHERE location_id IS NULL"
                    " OR location_id NOT IN (SELECT location_id FROM location)") == 0
    assert one(con, "SELECT count(*) FROM location WHERE location_source_value IS NULL") == 0
    # visits happen at every hospital, and mostly at the person's home hospital
    sites = one(con, "SELECT count(*) FROM care_site")
    assert one(con, "SELECT count(DISTINCT care_site_id) FROM visit_occurrence") == sites
    home = one(con, "SELECT avg((v.care_site_id = p.care_site_id)::INTEGER) FROM visit_occurrence AS v"
                    " JOIN person AS p USING (person_id)")
    assert 0.7 < home < 0.9


def test_every_record_belongs_to_a_person(con):
    for table in [*EVENT_TABLES, "observation_period", "death", "condition_era", "drug_era"]:
        assert one(con, f"SELECT count(*) FROM {table} WHERE person_id NOT IN (SELECT person_id FROM person)") == 0


def test_observation_periods_are_ordered_and_end_by_2025(con):
    assert one(con, "SELECT count(*) FROM observation_period WHERE observation_period_start_date"
                    " > observation_period_end_date OR observation_period_end_date > DATE '2025-12-31'") == 0
    overlaps = one(con, """
        SELECT count(*) FROM observation_period AS a JOIN observation_period AS b
          ON a.person_id = b.person_id AND a.observation_period_id < b.observation_period_id
         AND a.observation_period_start_date <= b.observation_period_end_date
         AND b.observation_period_start_date <= a.observation_period_end_date""")
    assert overlaps == 0
    assert one(con, "SELECT count(DISTINCT person_id) FROM observation_period") == 2000
    assert one(con, "SELECT count(*) FROM observation_period") > 2000, "some records have a gap"


@pytest.mark.parametrize("table", list(EVENT_TABLES))
def test_events_lie_mostly_inside_observation(con, table):
    date = EVENT_TABLES[table]
    inside = one(con, f"""
        SELECT avg(CASE WHEN EXISTS (
          SELECT 1 FROM observation_period AS op WHERE op.person_id = e.person_id
            AND e.{date} BETWEEN op.observation_period_start_date AND op.observation_period_end_date)
          THEN 1 ELSE 0 END) FROM {table} AS e""")
    assert inside > 0.97, table
    assert one(con, f"SELECT max({date}) FROM {table}") <= dt.date(2025, 12, 31)


def test_history_before_observation_exists(con):
    """Diagnoses carried in from before the record starts: what `ignoring observation period` is for."""
    before = one(con, """
        SELECT count(*) FROM condition_occurrence AS c
        WHERE c.condition_start_date < (SELECT min(observation_period_start_date) FROM observation_period AS op
                                        WHERE op.person_id = c.person_id)""")
    assert before > 0


@pytest.mark.parametrize("table", ["condition_occurrence", "drug_exposure", "procedure_occurrence", "measurement"])
def test_visit_links_are_valid(con, table):
    date = EVENT_TABLES[table]
    linked, bad = con.execute(f"""
        SELECT count(e.visit_occurrence_id),
               count(e.visit_occurrence_id) FILTER (WHERE v.visit_occurrence_id IS NULL OR v.person_id <> e.person_id
                 OR e.{date} NOT BETWEEN v.visit_start_date AND v.visit_end_date)
        FROM {table} AS e LEFT JOIN visit_occurrence AS v USING (visit_occurrence_id)""").fetchall()[0]
    assert linked > 0 and bad == 0


def test_visit_types_and_dates(con):
    kinds = dict(con.execute("SELECT visit_concept_id, count(*) FROM visit_occurrence GROUP BY 1").fetchall())
    assert set(kinds) == {9201, 9202, 9203}
    assert kinds[9202] > kinds[9203] > 0 and kinds[9201] > 0
    assert one(con, "SELECT count(*) FROM visit_occurrence WHERE visit_end_date < visit_start_date") == 0


def test_nothing_happens_after_death(con):
    assert one(con, "SELECT count(*) FROM death") > 0
    for table, date in EVENT_TABLES.items():
        late = one(con, f"SELECT count(*) FROM {table} AS e JOIN death AS d USING (person_id)"
                        f" WHERE e.{date} > d.death_date")
        assert late == 0, table


@pytest.mark.parametrize(
    ("concept_id", "unit_concept_id"), [(3004410, 8554), (3049187, 8117), (3029187, 8845), (3000963, 8713)]
)
def test_labs_have_values_units_and_some_gaps(con, concept_id, unit_concept_id):
    rows, with_unit, valued, lo, hi = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE unit_concept_id = ?), count(value_as_number),"
        " min(value_as_number), max(value_as_number) FROM measurement WHERE measurement_concept_id = ?",
        [unit_concept_id, concept_id],
    ).fetchall()[0]
    assert rows > 20 and with_unit >= 0.9 * rows
    assert 0 < valued < rows, "most values present, some missing"
    assert 0 < lo < hi


def test_drug_exposures_have_days_supply(con):
    bad = one(con, "SELECT count(*) FROM drug_exposure WHERE days_supply IS NULL OR days_supply < 1"
                   " OR drug_exposure_end_date <> drug_exposure_start_date + days_supply - 1")
    assert bad == 0
    assert one(con, "SELECT count(DISTINCT days_supply) FROM drug_exposure") >= 4


def test_eras_account_for_every_record(con):
    assert one(con, "SELECT sum(condition_occurrence_count) FROM condition_era") == one(
        con, "SELECT count(*) FROM condition_occurrence")
    assert one(con, "SELECT sum(drug_exposure_count) FROM drug_era") == one(con, "SELECT count(*) FROM drug_exposure")
    assert one(con, "SELECT count(*) FROM drug_era AS e JOIN concept AS c ON c.concept_id = e.drug_concept_id"
                    " WHERE c.concept_class_id <> 'Ingredient'") == 0
    assert one(con, "SELECT count(*) FROM condition_era WHERE condition_era_end_date < condition_era_start_date") == 0


def test_era_persistence_window():
    """Records 0, 20 and 51 days apart in one era when within 30 days of the latest end; a gap of 31+ splits."""
    con = duckdb.connect()
    con.execute("CREATE TABLE condition_era (condition_era_id BIGINT, person_id BIGINT, condition_concept_id BIGINT,"
                " condition_era_start_date DATE, condition_era_end_date DATE, condition_occurrence_count INTEGER)")
    con.execute("CREATE TEMP TABLE _co AS SELECT * FROM (VALUES"
                " (1, 10, DATE '2020-01-01', DATE '2020-01-15'), (1, 10, DATE '2020-01-05', NULL),"
                " (1, 10, DATE '2020-02-14', NULL), (1, 10, DATE '2020-03-17', NULL), (1, 11, DATE '2020-01-01', NULL))"
                " AS t(person_id, concept_id, start_date, end_date)")
    con.execute(eras.CONDITION_ERA_INSERT)
    got = con.execute("SELECT condition_concept_id, condition_era_start_date, condition_era_end_date,"
                      " condition_occurrence_count FROM condition_era ORDER BY 1, 2").fetchall()
    assert got == [
        (10, dt.date(2020, 1, 1), dt.date(2020, 2, 15), 3),  # 02-14 is 30 days after the latest end (01-15)
        (10, dt.date(2020, 3, 17), dt.date(2020, 3, 18), 1),  # 31 days after 02-15
        (11, dt.date(2020, 1, 1), dt.date(2020, 1, 2), 1),
    ]


# Vocabulary ---------------------------------------------------------------------------------------

def _events(test):
    found = getattr(test, "event", None)
    if found is not None:
        yield found
    for child in getattr(test, "children", ()):
        yield from _events(child)
    if getattr(test, "child", None) is not None:
        yield from _events(test.child)


@pytest.mark.parametrize("name", SYNTHETIC_EXAMPLES)
def test_vocabulary_holds_every_concept_of_the_example_with_its_domain(con, name):
    compiled = pipeline.compile_source(pipeline.read_source(REPO / "examples" / f"{name}.cohort"))
    plan = compiled.plan
    codesets = {c.id: c for c in plan.codesets}
    events = [*plan.entry.events, *(e for rule in plan.rules for e in _events(rule.test))]
    expected: dict[int, str] = {}
    for event in events:
        domain = DOMAINS[event.domain].table.split("_")[0].capitalize()
        for item in codesets[event.codeset_id].items if event.codeset_id is not None else ():
            expected[item.concept_id] = domain
            if item.descendants:
                below = one(con, "SELECT count(*) FROM concept_ancestor WHERE ancestor_concept_id = ?"
                                 " AND descendant_concept_id <> ancestor_concept_id", [item.concept_id])
                assert below > 0, f"{item.concept_id} has no descendants"
        expected.update({unit: "Unit" for unit in event.unit_concept_ids})
        expected.update({visit: "Visit" for visit in event.visit_concept_ids})
    expected.update({r.test.concept_id: "Gender" for r in plan.rules if type(r.test).__name__ == "SexTest"})
    for concept_id, domain in expected.items():
        assert one(con, "SELECT domain_id FROM concept WHERE concept_id = ?", [concept_id]) == domain, concept_id


def test_icd10cm_e11_codes_map_to_type2_diabetes(con):
    targets = con.execute("""
        SELECT cr.concept_id_2, ca.descendant_concept_id IS NOT NULL FROM concept AS c
        JOIN concept_relationship AS cr ON cr.concept_id_1 = c.concept_id AND cr.relationship_id = 'Maps to'
        LEFT JOIN concept_ancestor AS ca
          ON ca.ancestor_concept_id = 201826 AND ca.descendant_concept_id = cr.concept_id_2
        WHERE c.vocabulary_id = 'ICD10CM' AND c.concept_code LIKE 'E11%'""").fetchall()
    assert len(targets) >= 5 and all(under for _, under in targets)
    recorded = one(con, "SELECT count(*) FROM condition_occurrence WHERE condition_source_value LIKE 'E11%'"
                        " AND condition_source_concept_id IN"
                        " (SELECT concept_id FROM concept WHERE vocabulary_id = 'ICD10CM')")
    assert recorded > 0


def test_every_concept_used_is_in_the_vocabulary_with_its_domain(con):
    for table, column, domain in [
        ("condition_occurrence", "condition_concept_id", "Condition"),
        ("drug_exposure", "drug_concept_id", "Drug"),
        ("procedure_occurrence", "procedure_concept_id", "Procedure"),
        ("measurement", "measurement_concept_id", "Measurement"),
        ("observation", "observation_concept_id", "Observation"),
        ("visit_occurrence", "visit_concept_id", "Visit"),
        ("measurement", "unit_concept_id", "Unit"),
    ]:
        wrong = con.execute(f"SELECT DISTINCT e.{column} FROM {table} AS e LEFT JOIN concept AS c"
                            f" ON c.concept_id = e.{column} WHERE c.domain_id IS DISTINCT FROM ?", [domain]).fetchall()
        assert wrong == [], (table, column)


# The synthetic examples ----------------------------------------------------------------------------

@pytest.mark.slow  # 20,000 persons
@pytest.mark.parametrize("name", SYNTHETIC_EXAMPLES)
def test_examples_have_non_trivial_answers(medium, name):
    path = REPO / "examples" / f"{name}.cohort"
    result = cohortql.count(path, db=f"duckdb:///{medium}")
    assert result.final.value is not None and result.final.value > 0
    compiled = pipeline.compile_source(pipeline.read_source(path))
    raw = run_cohort(render(compiled.plan), resolve_target(f"duckdb:///{medium}"))
    steps = attrition_counts(raw)
    removes = [before > after for before, after in zip(steps, steps[1:], strict=False)]
    assert all(removes), f"every rule removes someone: {steps}"


# Eunomia scaler ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def eunomia_x2(eunomia_target, tmp_path_factory):
    return scale_eunomia(tmp_path_factory.mktemp("scaled") / "eunomia_x2.duckdb", 2, eunomia_target.database_file)


def test_scaler_multiplies_persons_and_records_exactly(eunomia_target, eunomia_x2):
    source = duckdb.connect(eunomia_target.database_file, read_only=True)
    scaled = duckdb.connect(str(eunomia_x2), read_only=True)
    for table in ["person", "observation_period", "condition_occurrence", "drug_exposure", "measurement", "drug_era"]:
        assert one(scaled, f"SELECT count(*) FROM {table}") == 2 * one(source, f"SELECT count(*) FROM {table}"), table
        assert one(scaled, f"SELECT count(DISTINCT person_id) FROM {table}") == 2 * one(
            source, f"SELECT count(DISTINCT person_id) FROM {table}")
    for table in ["concept", "concept_ancestor", "vocabulary"]:
        assert one(scaled, f"SELECT count(*) FROM {table}") == one(source, f"SELECT count(*) FROM {table}"), table
    assert one(scaled, f"SELECT count(*) FROM condition_occurrence WHERE person_id >= {ID_OFFSET}") == one(
        source, "SELECT count(*) FROM condition_occurrence")


def test_q1_on_two_copies_counts_exactly_twice(eunomia_target, eunomia_x2):
    compiled = pipeline.compile_source(pipeline.read_source(REPO / "examples" / "q1_gi_bleed_nsaid.cohort"))
    once = run_cohort(render(compiled.plan), eunomia_target)
    twice = run_cohort(render(compiled.plan), resolve_target(f"duckdb:///{eunomia_x2}"))
    assert attrition_counts(twice) == [2 * n for n in attrition_counts(once)]
    assert gain_counts(twice) == [2 * n for n in gain_counts(once)]
    assert sum(r[3] for r in twice.rows) == 2 * sum(r[3] for r in once.rows)


@pytest.mark.slow  # 20,000 persons, and Circe's own SQL for each example
def test_examples_agree_with_circe(medium, tmp_path):
    """OHDSI's reference implementation, run on the same data from benchmarks/circe/*.json, gives the same numbers."""
    pytest.importorskip("circe")
    import json
    import shutil

    from tests.reference.run_circe import RESULT_TABLES, circe_numbers, circe_sql
    from tests.reference.run_circe import run_cohort as run_circe

    copy = tmp_path / "circe.duckdb"
    shutil.copyfile(medium, copy)  # Circe writes its cohort and statistics tables
    con = duckdb.connect(str(copy))
    for statement in RESULT_TABLES:
        con.execute(statement)
    for cohort_id, name in enumerate(SYNTHETIC_EXAMPLES, start=1):
        text = (REPO / "benchmarks" / "circe" / f"{name[:2]}.json").read_text(encoding="utf-8")
        run_circe(con, circe_sql(text, cohort_id))
        circe = circe_numbers(con, cohort_id, [rule["name"] for rule in json.loads(text)["InclusionRules"]])
        compiled = pipeline.compile_source(pipeline.read_source(REPO / "examples" / f"{name}.cohort"))
        raw = run_cohort(render(compiled.plan), resolve_target(f"duckdb:///{medium}"))
        assert attrition_counts(raw) == [step["persons"] for step in circe["attrition"]], name
        assert gain_counts(raw) == list(circe["gains"].values()), name
    con.close()
