"""Counts of one Circe cohort expression two ways on the same DuckDB CDM: OHDSI Circe's own SQL
(ohdsi-circepy) and cohortql (import -> CohortQL -> our SQL), as person counts per inclusion-rule
mask in Circe's person mode (mode 1), the numbers attrition, gains and each rule's persons come from.

Used by tests/atlas/test_atlas_phenotypes.py and benchmarks/atlas_coverage.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from tests.reference.run_circe import RESULT_TABLES, circe_numbers, circe_sql, run_cohort


def cohortql_masks(cohort_text: str, name: str, target) -> dict[int, int]:
    """{rule mask: persons} of a CohortQL text counted by cohortql on `target`."""
    from cohortql.diagnostics import Source
    from cohortql.execute.runner import run_cohort as run_ours
    from cohortql.pipeline import compile_source
    from cohortql.render import render

    compiled = compile_source(Source(name, cohort_text))
    raw = run_ours(render(compiled.plan, target.cdm_schema, target.vocab_schema), target)
    masks: dict[int, int] = {}
    for mask, _strata, persons, _entries in raw.rows:
        masks[mask] = masks.get(mask, 0) + persons
    return masks


class CirceDatabase:
    """A throw-away copy of a DuckDB CDM that Circe may write its cohort and statistics tables into."""

    def __init__(self, cdm: Path, workdir: Path):
        self.path = workdir / "circe.duckdb"
        shutil.copyfile(cdm, self.path)
        self.con = duckdb.connect(str(self.path))
        for statement in RESULT_TABLES:
            self.con.execute(statement)
        self.next_id = 1

    def masks(self, expression_json: str) -> dict[int, int]:
        """{rule mask: persons} in Circe's person mode, for the cohort expression."""
        cohort_id, self.next_id = self.next_id, self.next_id + 1
        run_cohort(self.con, self.sql(expression_json, cohort_id))
        rules = _expression(expression_json).get("InclusionRules") or []
        if not rules:  # Circe writes no inclusion statistics without rules: every entry person is in
            (persons,) = self.con.execute(
                "SELECT count(DISTINCT subject_id) FROM main.cohort WHERE cohort_definition_id = ?", [cohort_id]
            ).fetchone()
            return {0: persons} if persons else {}
        numbers = circe_numbers(self.con, cohort_id, [str(i) for i in range(len(rules))])
        return {int(mask): n for mask, n in numbers["inclusion_masks"].items() if n}

    def sql(self, expression_json: str, cohort_id: int) -> str:
        return circe_sql(expression_json, cohort_id)

    def close(self) -> None:
        self.con.close()


class _PostgresConnection:
    """The part of DuckDB's connection API that run_circe uses (execute with ? parameters), on psycopg2."""

    def __init__(self, connection):
        self.connection = connection

    def execute(self, sql: str, parameters=()):
        cursor = self.connection.cursor()
        cursor.execute(sql.replace("?", "%s") if parameters else sql, tuple(parameters))
        return cursor


class PostgresCirceDatabase(CirceDatabase):
    """Circe's SQL translated to PostgreSQL, run on a CDM schema of a PostgreSQL database; Circe's
    cohort table goes to schema `main`, its statistics to `results` (both created here)."""

    def __init__(self, url: str, cdm_schema: str):
        import psycopg2
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        raw = psycopg2.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                               password=parsed.password, dbname=parsed.database)  # fmt: skip
        raw.autocommit = True
        self.con = _PostgresConnection(raw)
        self.cdm_schema = cdm_schema
        for statement in ["CREATE SCHEMA IF NOT EXISTS main", *RESULT_TABLES]:
            self.con.execute(statement.replace("CREATE SCHEMA results", "CREATE SCHEMA IF NOT EXISTS results"))
        self.con.execute("SET search_path TO main, public")
        self.next_id = 1

    def sql(self, expression_json: str, cohort_id: int) -> str:
        return circe_sql(expression_json, cohort_id, self.cdm_schema, "postgresql")

    def close(self) -> None:
        self.con.connection.close()


def _expression(expression_json: str) -> dict:
    document = json.loads(expression_json)
    if isinstance(document.get("expression"), str):
        return json.loads(document["expression"])
    return document.get("expression", document) if isinstance(document.get("expression"), dict) else document
