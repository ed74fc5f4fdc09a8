"""`cohortql concepts search` and `show` on Eunomia, and `concepts FILE` as before.

Expected hits and counts come from SQL of this file run on Eunomia's DuckDB file directly (not
through cohortql): the concepts whose name holds every word (or whose code is the text), and each
one's records and distinct persons in its domain's table, read from the column a standard
concept (or a source code) is recorded in. Counts of 1 to 9 must show as `<10` everywhere.
"""

from __future__ import annotations

import csv
import io
import json

import duckdb
import pytest
from typer.testing import CliRunner

from cohortql.cli import app
from tests.conftest import REPO

runner = CliRunner()
Q6 = str(REPO / "examples" / "q6_long_sinusitis.cohort")

# OMOP domain -> (table, concept column, source concept column), written out here on purpose.
TABLES = {
    "Condition": ("condition_occurrence", "condition_concept_id", "condition_source_concept_id"),
    "Drug": ("drug_exposure", "drug_concept_id", "drug_source_concept_id"),
    "Procedure": ("procedure_occurrence", "procedure_concept_id", "procedure_source_concept_id"),
    "Measurement": ("measurement", "measurement_concept_id", "measurement_source_concept_id"),
    "Observation": ("observation", "observation_concept_id", "observation_source_concept_id"),
    "Visit": ("visit_occurrence", "visit_concept_id", "visit_source_concept_id"),
    "Device": ("device_exposure", "device_concept_id", "device_source_concept_id"),
}


@pytest.fixture(autouse=True)
def _no_configured_database(monkeypatch, tmp_path, eunomia_target):
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    monkeypatch.delenv("COHORTQL_PROFILE", raising=False)  # no profile: the default policy, threshold 10
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


class Direct:
    """Queries on Eunomia's DuckDB file, each on a connection of its own (DuckDB refuses a second,
    differently configured connection to a file while cohortql's is open in the same process)."""

    def __init__(self, path: str):
        self.path = path

    def execute(self, sql: str, params: list | None = None):
        with duckdb.connect(self.path, read_only=True) as connection:
            return Rows(connection.execute(sql, params or []).fetchall())


class Rows(list):
    def fetchone(self):
        return self[0]

    def fetchall(self):
        return list(self)


@pytest.fixture(scope="module")
def con(eunomia_target):
    return Direct(eunomia_target.database_file)


def counts(con, concept_id: int) -> tuple[int, int] | None:
    """(records, persons) of one concept, or None when its domain has no table of records."""
    domain, standard = con.execute("SELECT domain_id, standard_concept FROM concept WHERE concept_id = ?",
                                   [concept_id]).fetchone()
    if domain not in TABLES:
        return None
    table, column, source_column = TABLES[domain]
    column = column if standard else source_column
    return con.execute(f"SELECT COUNT(*), COUNT(DISTINCT person_id) FROM {table} WHERE {column} = ?",
                       [concept_id]).fetchone()


def matching(con, text: str, domain: str | None = None, standard: bool = False) -> set[int]:
    words = text.lower().split()
    found = set()
    for concept_id, name, code, concept_domain, flag in con.execute(
            "SELECT concept_id, concept_name, concept_code, domain_id, standard_concept FROM concept").fetchall():
        if not (all(w in name.lower() for w in words) or code.lower() == text.lower()):
            continue
        if (domain is None or concept_domain == domain) and (not standard or flag == "S"):
            found.add(concept_id)
    return found


def shown(n: int) -> str:
    return "<10" if 1 <= n <= 9 else f"{n:,}"


def search_json(*args: str) -> dict:
    result = runner.invoke(app, ["concepts", "search", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _check_counts(con, hit: dict) -> None:
    expected = counts(con, hit["concept_id"])
    records, persons = expected
    assert hit["records"] == {"value": None if 1 <= records <= 9 else records, "display": shown(records)}
    assert hit["persons"] == {"value": None if 1 <= persons <= 9 else persons, "display": shown(persons)}


def test_search_by_name_finds_every_match_ranked_with_its_counts(con):
    document = search_json("sinusitis")
    hits = document["hits"]
    assert {h["concept_id"] for h in hits} == matching(con, "sinusitis") == {4283893, 40481087, 4294548, 257012}
    for hit in hits:
        _check_counts(con, hit)
    # the exact name first, then the names with the word, most records first
    assert [h["concept_id"] for h in hits] == [4283893, 40481087, 4294548, 257012]
    assert [h["match"] for h in hits] == ["name", "words", "words", "words"]
    assert document["policy"]["threshold"] == 10 and document["more"] == 0


def test_search_diabetes(con):
    hits = search_json("diabetes")["hits"]
    assert {h["concept_id"] for h in hits} == matching(con, "diabetes") == {4144583}
    _check_counts(con, hits[0])


def test_search_by_code_is_case_insensitive(con):
    for text in ("K92.2", "k92.2"):
        hits = search_json(text)["hits"]
        assert [(h["concept_id"], h["match"], h["standard"]) for h in hits] == [(35208414, "code", "non-standard")]
        _check_counts(con, hits[0])  # a source code: its records are those it is the source concept of
    assert counts(con, 35208414)[0] > 0


def test_standard_concepts_rank_first_and_standard_filters(con):
    hits = search_json("hemorrhage")["hits"]
    assert {h["concept_id"] for h in hits} == matching(con, "hemorrhage") == {192671, 35208414}
    assert [h["concept_id"] for h in hits] == [192671, 35208414]  # same match; standard first
    standard = search_json("hemorrhage", "--standard")["hits"]
    assert [h["concept_id"] for h in standard] == sorted(matching(con, "hemorrhage", standard=True)) == [192671]


def test_domain_and_vocabulary_filters(con):
    procedures = search_json("of", "--domain", "procedure", "--limit", "1000")["hits"]
    assert {h["concept_id"] for h in procedures} == matching(con, "of", domain="Procedure")
    assert procedures and {h["domain"] for h in procedures} == {"Procedure"}
    everywhere = search_json("of", "--limit", "1000")["hits"]
    assert len({h["domain"] for h in everywhere}) >= 3
    icd = search_json("hemorrhage", "--vocabulary", "icd10cm")["hits"]  # the vocabulary id, case aside
    assert [h["concept_id"] for h in icd] == [35208414]


def test_limit_cuts_the_ranked_list_and_says_how_many_more(con):
    document = search_json("sinusitis", "--limit", "2")
    assert [h["concept_id"] for h in document["hits"]] == [4283893, 40481087]
    assert document["more"] == 2
    table = runner.invoke(app, ["concepts", "search", "sinusitis", "--limit", "2"]).stdout
    assert "... and 2 more concepts" in table


def test_small_counts_are_suppressed_in_table_json_and_csv(con):
    assert counts(con, 317009) == (5, 5)  # Asthma: 5 records of 5 persons
    hit = next(h for h in search_json("asthma")["hits"] if h["concept_id"] == 317009)
    assert hit["records"] == {"value": None, "display": "<10"} and hit["persons"] == {"value": None, "display": "<10"}
    table = runner.invoke(app, ["concepts", "search", "asthma"]).stdout
    row = next(line for line in table.splitlines() if " 317009 " in line)
    assert row.count("<10") == 2 and " 5 " not in row
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["concepts", "search", "asthma", "--format", "csv"])
                                          .stdout)))
    row = next(r for r in rows if r["concept_id"] == "317009")
    assert (row["records"], row["records_display"], row["persons"], row["persons_display"]) == ("", "<10", "", "<10")
    shown_detail = json.loads(runner.invoke(app, ["concepts", "show", "317009", "--format", "json"]).stdout)
    assert shown_detail["concept"]["records"] == {"value": None, "display": "<10"}


def test_two_small_concepts_are_ranked_alike_whatever_their_true_counts(con):
    # both have a small number of records; the order between them is by name, never by the count
    assert all(1 <= counts(con, c)[0] <= 9 for c in (4066995, 44782520))
    hits = search_json("spinal cord")["hits"]
    names = [h["name"] for h in hits if h["concept_id"] in (4066995, 44782520)]
    assert names == sorted(names, key=str.lower)


@pytest.mark.parametrize("text", ["%", "_", "'", "; drop table concept", "50%_!", "alzheimer's"])
def test_search_text_is_matched_literally_and_harms_nothing(con, text):
    before = con.execute("SELECT COUNT(*) FROM concept").fetchone()
    hits = search_json(text)["hits"]
    assert {h["concept_id"] for h in hits} == matching(con, text)
    assert con.execute("SELECT COUNT(*) FROM concept").fetchone() == before
    if text == "'":
        assert {h["name"] for h in hits} == {"Alzheimer's disease", "Familial Alzheimer's disease of early onset"}


def test_no_hits_is_clear_and_not_an_error():
    result = runner.invoke(app, ["concepts", "search", "zzzqqq"])
    assert result.exit_code == 0
    assert "no concept matches 'zzzqqq'" in result.stdout
    document = search_json("zzzqqq")
    assert document["hits"] == [] and document["more"] == 0


@pytest.mark.parametrize(("args", "message"), [
    (["   "], "the search text is empty"),
    (["x" * 256], "longer than 255 characters"),
    (["x", "--vocabulary", "NOPE"], "unknown vocabulary 'NOPE'"),
    (["x", "--domain", "nope"], "'nope' is not one of 'condition', 'drug'"),
])
def test_bad_search_options_are_usage_errors(args, message):
    result = runner.invoke(app, ["concepts", "search", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split()).replace("│ │ ", "")
    assert "Traceback" not in result.output
    if "vocabulary" in message:
        assert "hint: valid values: CVX, ICD10CM, LOINC, NDC, None, RxNorm, SNOMED, Visit" in result.stderr


def test_show_concept_with_descendants(con):
    document = json.loads(runner.invoke(app, ["concepts", "show", "4283893", "--format", "json"]).stdout)
    concept = document["concept"]
    assert (concept["name"], concept["domain"], concept["vocabulary"], concept["code"], concept["standard"]) == (
        "Sinusitis", "Condition", "SNOMED", "36971009", "standard")
    assert concept["valid_start_date"] == "1970-01-01" and concept["invalid_reason"] is None
    _check_counts(con, concept)
    expected = con.execute("""
        SELECT ca.descendant_concept_id, ca.min_levels_of_separation, ca.max_levels_of_separation
        FROM concept_ancestor ca JOIN concept c ON c.concept_id = ca.descendant_concept_id
        WHERE ca.ancestor_concept_id = 4283893 AND ca.descendant_concept_id <> 4283893""").fetchall()
    descendants = document["descendants"]["concepts"]
    assert sorted((d["concept_id"], d["min_levels_of_separation"], d["max_levels_of_separation"])
                  for d in descendants) == sorted(expected)
    assert [d["min_levels_of_separation"] for d in descendants] == [1, 1, 2]  # nearest first
    for descendant in descendants:
        _check_counts(con, descendant)
    assert document["ancestors"]["concepts"] == [] and document["mapped_from"]["concepts"] == []


def test_show_lists_the_source_codes_mapped_to_it_and_what_a_source_code_maps_to(con):
    standard = json.loads(runner.invoke(app, ["concepts", "show", "192671", "--format", "json"]).stdout)
    expected = {row[0] for row in con.execute(
        "SELECT concept_id_1 FROM concept_relationship WHERE concept_id_2 = 192671 AND relationship_id = 'Maps to' "
        "AND concept_id_1 <> 192671").fetchall()}
    mapped = standard["mapped_from"]["concepts"]
    assert {m["concept_id"] for m in mapped} == expected == {35208414}
    assert (mapped[0]["vocabulary"], mapped[0]["code"]) == ("ICD10CM", "K92.2")
    _check_counts(con, mapped[0])
    source = json.loads(runner.invoke(app, ["concepts", "show", "35208414", "--format", "json"]).stdout)
    assert [m["concept_id"] for m in source["maps_to"]["concepts"]] == [192671]
    assert source["concept"]["standard"] == "non-standard"
    table = runner.invoke(app, ["concepts", "show", "192671"]).stdout
    assert "source codes that map to it: 1" in table and "K92.2" in table and "descendants: none" in table
    rows = list(csv.reader(io.StringIO(runner.invoke(app, ["concepts", "show", "192671", "--format", "csv"]).stdout)))
    assert [r[0] for r in rows] == ["relation", "concept", "mapped_from"]


def test_show_unknown_id_is_one_line_with_a_hint():
    result = runner.invoke(app, ["concepts", "show", "999"])
    assert result.exit_code == 1
    assert "error: concept 999 is not in the vocabulary of" in result.stderr
    assert "hint: find concepts by name or code with `cohortql concepts search TEXT`" in result.stderr
    assert "Traceback" not in result.output and result.stdout == ""
    assert runner.invoke(app, ["concepts", "show", "abc"]).exit_code == 2


def test_concepts_file_is_concepts_list_file():
    old = runner.invoke(app, ["concepts", Q6])
    assert old.exit_code == 0, old.output
    assert "Viral sinusitis" in old.stdout
    assert runner.invoke(app, ["concepts", "list", Q6]).stdout == old.stdout
    assert runner.invoke(app, ["concepts", "--db", "duckdb:////nonexistent/cdm.duckdb", Q6]).exit_code == 1
    assert "search" in runner.invoke(app, ["concepts", "--help"]).stdout


@pytest.fixture
def postgres_args(postgres_eunomia):
    return ["--db", postgres_eunomia.url, "--cdm-schema", "eunomia"]


def test_postgres_gives_the_same_answers_as_duckdb(postgres_args):
    def without_database(args):
        result = runner.invoke(app, ["concepts", *args])
        assert result.exit_code == 0, result.output
        return [line for line in result.stdout.splitlines() if not line.startswith(("database:", '  "database"'))]

    for args in (["search", "sinusitis"], ["search", "k92.2", "--format", "csv"], ["search", "'%_"],
                 ["search", "of", "--domain", "procedure", "--vocabulary", "snomed", "--standard"],
                 ["show", "192671", "--format", "csv"], ["show", "4283893"], ["show", "317009"]):
        assert without_database([*args, *postgres_args]) == without_database(args), args
    for args in (["search", "hemorrhage"], ["show", "35208414"]):
        duck = json.loads(runner.invoke(app, ["concepts", *args, "--format", "json"]).stdout)
        pg = json.loads(runner.invoke(app, ["concepts", *args, *postgres_args, "--format", "json"]).stdout)
        assert pg.pop("database")["dialect"] == "postgres" and duck.pop("database")["dialect"] == "duckdb"
        assert pg == duck


def test_beyond_the_candidate_cap_the_output_says_so(monkeypatch):
    import cohortql.render.vocabulary as vocabulary

    monkeypatch.setattr(vocabulary, "MAX_CANDIDATES", 2)  # Eunomia's 442 concepts never reach 10,000
    document = search_json("sinusitis")
    assert document["candidates_capped_at"] == 2
    # picked without any count: the exact name, then the shortest name
    assert [h["name"] for h in document["hits"]] == ["Sinusitis", "Viral sinusitis"]
    table = runner.invoke(app, ["concepts", "search", "sinusitis"]).stdout
    assert "more than 2 concepts match: only the first 2 were ranked" in " ".join(table.split())
