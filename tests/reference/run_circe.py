"""Run Q1-Q6 through OHDSI's reference implementation (ohdsi-circepy) on the normalised Eunomia CDM.

For each `circe/qN.json` (an ATLAS/Circe cohort expression) this builds the OHDSI SQL with
inclusion-rule statistics, renders and translates it to DuckDB with circepy's own SqlRender
port (`circe.sqlrender`), runs it on a throw-away copy of the cache, and writes Circe's numbers
to `circe/circe_results.json`:
- `entries`: qualified events (cohort_summary_stats.base_count, person mode);
- `final`: persons in the generated cohort table (checked equal to final_count);
- `attrition`: persons with all of rules 1..i, from the person-mode inclusion masks;
- `gains`: person-mode cohort_inclusion_stats.gain_count, per rule;
- `rule_persons`: person-mode cohort_inclusion_stats.person_count (each rule on its own).
`compute_expected.py` compares them with the hand-written SQL.

    .venv/bin/python tests/reference/run_circe.py [--cache-dir DIR] [--keep-sql DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb
from circe.api import build_cohort_query, cohort_expression_from_json
from circe.cohortdefinition import BuildExpressionQueryOptions
from circe.sqlrender import render, split_sql, translate

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository root, for cohortql

from cohortql.execute.eunomia import eunomia_cdm_path  # noqa: E402

QUESTIONS = ["q1", "q2", "q3", "q4", "q5", "q6"]
PERSON_MODE = 1  # Circe mode_id: 0 = all events, 1 = best event per person

RESULT_TABLES = [
    "CREATE TABLE main.cohort (cohort_definition_id BIGINT, subject_id BIGINT,"
    " cohort_start_date DATE, cohort_end_date DATE)",
    "CREATE SCHEMA results",
    "CREATE TABLE results.cohort_inclusion_result (cohort_definition_id BIGINT,"
    " inclusion_rule_mask BIGINT, person_count BIGINT, mode_id INTEGER)",
    "CREATE TABLE results.cohort_inclusion_stats (cohort_definition_id BIGINT,"
    " rule_sequence INTEGER, person_count BIGINT, gain_count BIGINT, person_total BIGINT,"
    " mode_id INTEGER)",
    "CREATE TABLE results.cohort_summary_stats (cohort_definition_id BIGINT, base_count BIGINT,"
    " final_count BIGINT, mode_id INTEGER)",
    "CREATE TABLE results.cohort_censor_stats (cohort_definition_id BIGINT, lost_count BIGINT)",
]


def circe_sql(expression_json: str, cohort_id: int, cdm_schema: str = "main", dialect: str = "duckdb") -> str:
    """Circe's OHDSI SQL for one cohort, rendered and translated to DuckDB (or another SqlRender dialect)."""
    options = BuildExpressionQueryOptions()
    options.cdm_schema = cdm_schema
    options.vocabulary_schema = cdm_schema
    options.result_schema = "results"
    options.target_table = "cohort"
    options.cohort_id = cohort_id
    options.generate_stats = True
    sql = build_cohort_query(cohort_expression_from_json(expression_json), options)
    return translate(render(sql), dialect)


def run_cohort(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    for statement in split_sql(sql):
        if statement.strip():
            con.execute(statement)


def circe_numbers(con: duckdb.DuckDBPyConnection, cohort_id: int, rules: list[str]) -> dict:
    (cohort_persons,) = con.execute(
        "SELECT count(DISTINCT subject_id) FROM main.cohort WHERE cohort_definition_id = ?", [cohort_id]
    ).fetchone()
    base, final = con.execute(
        "SELECT base_count, final_count FROM results.cohort_summary_stats"
        " WHERE cohort_definition_id = ? AND mode_id = ?",
        [cohort_id, PERSON_MODE],
    ).fetchone()
    masks = con.execute(
        "SELECT inclusion_rule_mask, person_count FROM results.cohort_inclusion_result"
        " WHERE cohort_definition_id = ? AND mode_id = ?",
        [cohort_id, PERSON_MODE],
    ).fetchall()
    stats = con.execute(
        "SELECT rule_sequence, person_count, gain_count FROM results.cohort_inclusion_stats"
        " WHERE cohort_definition_id = ? AND mode_id = ? ORDER BY rule_sequence",
        [cohort_id, PERSON_MODE],
    ).fetchall()
    assert final == cohort_persons, (final, cohort_persons)
    attrition = [{"rule": "entry", "persons": base}]
    for i, rule in enumerate(rules):
        needed = 2 ** (i + 1) - 1  # rules 0..i all set
        attrition.append({"rule": rule, "persons": sum(n for mask, n in masks if mask & needed == needed)})
    return {
        "entries": base,
        "attrition": attrition,
        "final": cohort_persons,
        "gains": {rules[seq]: gain for seq, _, gain in stats},
        "rule_persons": {rules[seq]: persons for seq, persons, _ in stats},
        "inclusion_masks": {str(mask): n for mask, n in sorted(masks)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument(
        "--keep-sql", type=Path, default=None, help="also write the translated SQL of each cohort to this directory"
    )
    args = parser.parse_args()

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "eunomia_circe.duckdb"
        shutil.copyfile(eunomia_cdm_path(args.cache_dir), copy)  # Circe writes tables
        con = duckdb.connect(str(copy))
        for statement in RESULT_TABLES:
            con.execute(statement)
        for cohort_id, name in enumerate(QUESTIONS, start=1):
            expression = (HERE / "circe" / f"{name}.json").read_text(encoding="utf-8")
            sql = circe_sql(expression, cohort_id)
            if args.keep_sql:
                args.keep_sql.mkdir(parents=True, exist_ok=True)
                (args.keep_sql / f"{name}.sql").write_text(sql, encoding="utf-8")
            run_cohort(con, sql)
            rules = [rule["name"] for rule in json.loads(expression)["InclusionRules"]]
            results[name] = circe_numbers(con, cohort_id, rules)
        con.close()

    out = HERE / "circe" / "circe_results.json"
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for name, result in results.items():
        steps = " -> ".join(str(step["persons"]) for step in result["attrition"])
        print(f"{name}: final {result['final']:4d}  attrition {steps}  gains {result['gains']}")


if __name__ == "__main__":
    main()
