"""The tiny hand-made CDM itself, checked independently of the engine: definitions, answers, CSVs, references."""

import csv

import duckdb
import pytest

from cohortql.fixtures.tiny import TINY_DIR, build_duckdb, case_paths, csv_paths, expected
from cohortql.pipeline import compile_source, read_source

CASES = case_paths()

# Event tables: (table, event id column or None, concept columns that must name a concept).
EVENT_TABLES = {
    "observation_period": ("observation_period_id", ["period_type_concept_id"]),
    "visit_occurrence": ("visit_occurrence_id", ["visit_concept_id", "visit_type_concept_id"]),
    "condition_occurrence": ("condition_occurrence_id",
                             ["condition_concept_id", "condition_type_concept_id", "condition_source_concept_id",
                              "condition_status_concept_id"]),
    "drug_exposure": ("drug_exposure_id", ["drug_concept_id", "drug_type_concept_id"]),
    "procedure_occurrence": ("procedure_occurrence_id", ["procedure_concept_id", "procedure_type_concept_id"]),
    "device_exposure": ("device_exposure_id", ["device_concept_id", "device_type_concept_id"]),
    "measurement": ("measurement_id", ["measurement_concept_id", "measurement_type_concept_id", "unit_concept_id"]),
    "observation": ("observation_id", ["observation_concept_id", "observation_type_concept_id"]),
    "death": (None, ["cause_concept_id", "death_type_concept_id"]),
    "condition_era": ("condition_era_id", ["condition_concept_id"]),
    "drug_era": ("drug_era_id", ["drug_concept_id"]),
}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = build_duckdb(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()


def _csv_rows(path):
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        return next(reader), [row for row in reader if row]


# ---- definitions -------------------------------------------------------------

def test_there_are_enough_cases():
    assert len(CASES) >= 14
    assert len({path.stem[:2] for path in CASES}) == len(CASES), "case numbers must be unique"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case_compiles_and_explains_itself(path):
    compiled = compile_source(read_source(path))
    assert path.read_text(encoding="utf-8").startswith(f"# Case {path.stem[:2]}:"), "comment header missing"
    assert compiled.plan.entry.mode in ("first", "earliest", "all")


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case_concepts_exist(path, con):
    known = {row[0] for row in con.execute("SELECT concept_id FROM concept").fetchall()}
    plan = compile_source(read_source(path)).plan
    ids = {item.concept_id for codeset in plan.codesets for item in codeset.items}
    assert ids <= known, f"concept ids missing from concept.csv: {sorted(ids - known)}"


# ---- expected answers --------------------------------------------------------

def test_every_case_has_an_answer_and_no_more():
    assert set(expected()) == {path.stem for path in CASES}


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_answer_is_consistent(path):
    answer = expected()[path.stem]
    rules = [rule.name for rule in compile_source(read_source(path)).plan.rules]
    assert set(answer) == {"entries", "attrition", "final", "gains"}
    steps = answer["attrition"]
    assert [step["rule"] for step in steps] == ["entry", *rules], "attrition steps must follow the rules in order"
    counts = [step["persons"] for step in steps]
    assert all(isinstance(n, int) and n >= 0 for n in counts)
    assert counts == sorted(counts, reverse=True), "attrition must not increase"
    assert counts[-1] == answer["final"]
    assert answer["entries"] >= counts[0], "every person with an entry has at least one entry event"
    assert set(answer["gains"]) == set(rules)
    for gain in answer["gains"].values():
        # A rule's gainers fail it, so they are not in the final count.
        assert 0 <= gain <= counts[0] - answer["final"]


def test_answers_include_zero_and_one_person_outcomes():
    finals = [answer["final"] for answer in expected().values()]
    assert 0 in finals and 1 in finals
    assert any(answer["entries"] == 0 for answer in expected().values())


# ---- CSVs and the loaded database -------------------------------------------

def test_every_table_has_a_csv_with_its_columns(con):
    tables = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {path.stem for path in csv_paths()} == tables
    for path in csv_paths():
        header, _ = _csv_rows(path)
        columns = [row[0] for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [path.stem]).fetchall()]
        assert header == columns, f"{path.name}: header must be the cdm54.sql columns, in order"


def test_build_duckdb_loads_every_row(con):
    for path in csv_paths():
        _, rows = _csv_rows(path)
        loaded = con.execute(f'SELECT count(*) FROM "{path.stem}"').fetchall()[0][0]
        assert loaded == len(rows), path.name


def test_build_duckdb_accepts_a_directory(tmp_path):
    path = build_duckdb(tmp_path)
    assert path == tmp_path / "tiny.duckdb" and path.exists()


def test_empty_fields_are_null(con):
    null_values = con.execute("SELECT count(*) FROM measurement WHERE value_as_number IS NULL").fetchall()[0][0]
    assert null_values == 1
    assert con.execute("SELECT count(*) FROM person WHERE location_id IS NULL").fetchall()[0][0] == 37


def test_tiny_is_tiny(con):
    persons = con.execute("SELECT count(*) FROM person").fetchall()[0][0]
    assert 25 <= persons <= 40


# ---- referential sanity ------------------------------------------------------

@pytest.mark.parametrize("table", sorted(EVENT_TABLES))
def test_event_rows_refer_to_known_persons_and_concepts(table, con):
    id_column, concept_columns = EVENT_TABLES[table]
    orphans = con.execute(
        f"SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM person p WHERE p.person_id = t.person_id)"
    ).fetchall()[0][0]
    assert orphans == 0, f"{table}: rows for unknown persons"
    for column in concept_columns:
        unknown = con.execute(
            f"SELECT DISTINCT t.{column} FROM {table} t WHERE t.{column} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM concept c WHERE c.concept_id = t.{column})"
        ).fetchall()
        assert unknown == [], f"{table}.{column}: unknown concepts {unknown}"
    if id_column:
        duplicates = con.execute(
            f"SELECT {id_column} FROM {table} GROUP BY {id_column} HAVING count(*) > 1").fetchall()
        assert duplicates == [], f"{table}: duplicate {id_column}"


def test_person_concepts_exist(con):
    unknown = con.execute(
        "SELECT person_id FROM person p WHERE NOT EXISTS "
        "(SELECT 1 FROM concept c WHERE c.concept_id = p.gender_concept_id)").fetchall()
    assert unknown == []
    assert con.execute("SELECT DISTINCT gender_concept_id FROM person ORDER BY 1").fetchall() == [(8507,), (8532,)]


def test_visit_links_resolve(con):
    dangling = con.execute(
        "SELECT condition_occurrence_id FROM condition_occurrence c WHERE c.visit_occurrence_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM visit_occurrence v WHERE v.visit_occurrence_id = c.visit_occurrence_id "
        "AND v.person_id = c.person_id)").fetchall()
    assert dangling == []


def test_observation_periods_do_not_overlap(con):
    overlaps = con.execute(
        "SELECT a.person_id FROM observation_period a JOIN observation_period b ON a.person_id = b.person_id "
        "AND a.observation_period_id < b.observation_period_id "
        "AND a.observation_period_start_date <= b.observation_period_end_date "
        "AND b.observation_period_start_date <= a.observation_period_end_date").fetchall()
    assert overlaps == []
    assert con.execute("SELECT count(*) FROM observation_period "
                       "WHERE observation_period_start_date > observation_period_end_date").fetchall()[0][0] == 0


def test_vocabulary_is_closed(con):
    for table, columns in {"concept_ancestor": ["ancestor_concept_id", "descendant_concept_id"],
                           "concept_relationship": ["concept_id_1", "concept_id_2"]}.items():
        for column in columns:
            unknown = con.execute(
                f"SELECT DISTINCT {column} FROM {table} t WHERE NOT EXISTS "
                f"(SELECT 1 FROM concept c WHERE c.concept_id = t.{column})").fetchall()
            assert unknown == [], f"{table}.{column}: unknown concepts {unknown}"
    # Every made-up standard concept is its own descendant; source concepts have no ancestry.
    missing_self = con.execute(
        "SELECT concept_id FROM concept c WHERE c.standard_concept = 'S' AND c.concept_id >= 2000000000 "
        "AND NOT EXISTS (SELECT 1 FROM concept_ancestor a WHERE a.ancestor_concept_id = c.concept_id "
        "AND a.descendant_concept_id = c.concept_id AND a.min_levels_of_separation = 0)").fetchall()
    assert missing_self == []
    maps_to_standard = con.execute(
        "SELECT count(*) FROM concept_relationship r JOIN concept s ON s.concept_id = r.concept_id_1 "
        "JOIN concept t ON t.concept_id = r.concept_id_2 "
        "WHERE r.relationship_id = 'Maps to' AND s.vocabulary_id = 'ICD10CM' AND t.standard_concept = 'S'"
    ).fetchall()[0][0]
    assert maps_to_standard >= 1


def test_expected_md_names_every_case():
    text = (TINY_DIR / "EXPECTED.md").read_text(encoding="utf-8")
    for path in CASES:
        assert path.stem in text, f"EXPECTED.md has no reasoning for {path.stem}"
