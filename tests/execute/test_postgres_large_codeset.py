"""A concept set of 50,000 descendants: the planner knows its size and the query stays fast.

The resolved concept sets are materialised as the temporary table cq_codeset, indexed and
analysed (`INDEX_CONCEPT_SETS` and `ANALYSE_TABLE` in execute/postgres.py), and the
query runs without nested loops (its `QUERY_SETTINGS`).
Measured on this data (PostgreSQL 15, 2 cores): with nested loops allowed, no statistics and no
index, the planner guesses 277 rows for 50,001 and scans the set once per entry (260 s); with
statistics only, 53 s; with both, 0.8 s; as built, 0.6 s.
"""

from __future__ import annotations

import json
import time

import duckdb
import pytest

from cohortql import pipeline
from cohortql.diagnostics import Source
from cohortql.execute.loader import load
from cohortql.execute.runner import explain_cohort, run_cohort
from cohortql.execute.target import resolve_target
from cohortql.fixtures import ddl_statements
from cohortql.render import render

pytestmark = pytest.mark.slow  # builds a vocabulary of 50,000 descendants

DESCENDANTS = 50_000
DEFINITION = """
concepts Big = {1000 "an ancestor of 50,000 concepts" with descendants}
concepts Noise = {2000 "an ancestor of 300 other concepts" with descendants}

entry first condition Big
include "again within a year": at least 2 condition Big within 365 days after index
exclude "noise before": condition Noise any time before index
"""

DATA = [
    # 50,000 descendants of 1000, and 300,000 other ancestor rows the expansion must skip
    "INSERT INTO concept_ancestor SELECT 1000, 1000, 0, 0",
    f"INSERT INTO concept_ancestor SELECT 1000, 1000000 + i, 1, 1 FROM range({DESCENDANTS}) AS t(i)",
    "INSERT INTO concept_ancestor SELECT 2000 + i // 300, 5000000 + i, 1, 1 FROM range(300000) AS t(i)",
    "INSERT INTO person (person_id, gender_concept_id, year_of_birth, race_concept_id, ethnicity_concept_id)"
    " SELECT i, 8507, 1950 + i % 50, 0, 0 FROM range(1, 20001) AS t(i)",
    "INSERT INTO observation_period SELECT i, i, DATE '2010-01-01', DATE '2020-12-31', 32817"
    " FROM range(1, 20001) AS t(i)",
    # half of 200,000 conditions in the big set, half in the other concepts
    "INSERT INTO condition_occurrence (condition_occurrence_id, person_id, condition_concept_id,"
    " condition_start_date, condition_type_concept_id)"
    " SELECT i, 1 + hash(i) % 20000,"
    f" CASE WHEN i % 2 = 0 THEN 1000000 + hash(i * 3) % {DESCENDANTS} ELSE 5000000 + hash(i * 5) % 300000 END,"
    " DATE '2010-01-01' + CAST(hash(i * 11) % 4000 AS INTEGER), 32817 FROM range(1, 200001) AS t(i)",
]


@pytest.fixture(scope="module")
def targets(postgres_database, tmp_path_factory):
    path = tmp_path_factory.mktemp("large-codeset") / "cdm.duckdb"
    with duckdb.connect(str(path)) as con:
        for statement in ddl_statements() + DATA:
            con.execute(statement)
    load(str(path), postgres_database, "large_codeset")
    return resolve_target(f"duckdb:///{path}"), resolve_target(postgres_database, "large_codeset")


def _rendered(schema):
    compiled = pipeline.compile_source(Source("large.cohort", DEFINITION))
    return render(compiled.plan, schema)


def _scans(plan: dict, relation: str):
    if plan.get("Relation Name") == relation:
        yield plan
    for child in plan.get("Plans", []):
        yield from _scans(child, relation)


def test_large_concept_set_is_fast_and_agrees_with_duckdb(targets):
    duck, pg = targets
    started = time.perf_counter()
    raw = run_cohort(_rendered("large_codeset"), pg)
    elapsed = time.perf_counter() - started
    assert sorted(raw.rows) == sorted(run_cohort(_rendered(None), duck).rows)
    assert sum(row[2] for row in raw.rows) > 5000
    assert elapsed < 10, f"{elapsed:.1f} s for a cohort on 200,000 conditions"


def test_planner_knows_the_size_of_the_concept_set(targets):
    _, pg = targets
    (plan,) = json.loads(explain_cohort(_rendered("large_codeset"), pg))
    scans = list(_scans(plan["Plan"], "cq_codeset"))
    assert scans
    for scan in scans:  # estimated rows within a factor of 2 of the rows actually read
        estimated, actual = scan["Plan Rows"], scan["Actual Rows"]
        assert actual / 2 <= estimated <= actual * 2 + 10, (estimated, actual)
    assert max(scan["Actual Rows"] for scan in scans) >= DESCENDANTS
    # entries are underestimated upstream, so probes must be index lookups, never repeated scans
    assert all(scan["Actual Loops"] == 1 for scan in scans if scan["Node Type"] == "Seq Scan")
