"""Compute the expected Q1-Q6 answers on Eunomia from hand-written SQL, independently of the engine.

Each `qN.sql` returns one row per person with an entry event: person_id, index_date, then one
boolean column per rule, named as the rule and in the order the question writes them. This
script turns those rows into entries, attrition (persons, rules in order), final count and
gains (persons who satisfy every other rule but not this one), compares them with Circe's
numbers from `circe/circe_results.json` (written by `run_circe.py`) when that file exists, and writes
`eunomia_expected.json`.

    .venv/bin/python tests/reference/compute_expected.py [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository root, for cohortql

from cohortql.execute.eunomia import eunomia_cdm_path  # noqa: E402

QUESTIONS = ["q1", "q2", "q3", "q4", "q5", "q6"]
COMPARED = ["entries", "attrition", "final", "gains"]


def summarise(rule_names: list[str], rows: list[tuple]) -> dict:
    """Entries, attrition, final and gains from one (person_id, index_date, *rules) row per entry."""
    persons = [row[0] for row in rows]
    assert len(persons) == len(set(persons)), "one entry per person expected"
    flags = [tuple(row[2:]) for row in rows]
    assert all(flag is not None for row in flags for flag in row), "a rule evaluated to NULL"
    attrition = [{"rule": "entry", "persons": len(flags)}]
    for i, rule in enumerate(rule_names):
        attrition.append({"rule": rule, "persons": sum(all(f[: i + 1]) for f in flags)})
    gains = {rule: sum((not f[j]) and all(f[:j] + f[j + 1 :]) for f in flags) for j, rule in enumerate(rule_names)}
    return {
        "entries": len(flags),
        "attrition": attrition,
        "final": sum(all(f) for f in flags),
        "gains": gains,
    }


def run_question(con: duckdb.DuckDBPyConnection, name: str) -> dict:
    cursor = con.execute((HERE / f"{name}.sql").read_text(encoding="utf-8"))
    rule_names = [column[0] for column in cursor.description][2:]
    return summarise(rule_names, cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()

    circe_file = HERE / "circe" / "circe_results.json"
    circe = json.loads(circe_file.read_text()) if circe_file.exists() else {}
    con = duckdb.connect(str(eunomia_cdm_path(args.cache_dir)), read_only=True)
    expected = {}
    for name in QUESTIONS:
        result = run_question(con, name)
        checked_by = ["hand SQL"]
        if name in circe:
            differences = [key for key in COMPARED if circe[name].get(key) != result[key]]
            if differences:
                result["circepy_differs_on"] = differences
            else:
                checked_by.append("circepy")
        result["checked_by"] = checked_by
        expected[name] = result
    con.close()

    out = HERE / "eunomia_expected.json"
    out.write_text(json.dumps(expected, indent=2) + "\n", encoding="utf-8")
    for name, result in expected.items():
        steps = " -> ".join(str(step["persons"]) for step in result["attrition"])
        print(
            f"{name}: final {result['final']:4d}  attrition {steps}  gains {result['gains']}"
            f"  checked by {', '.join(result['checked_by'])}"
        )


if __name__ == "__main__":
    main()
