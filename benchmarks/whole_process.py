"""Whole process, paired: `cohortql count` against DuckCDM's cohort generation with inclusion statistics.

    python benchmarks/whole_process.py --repeats 5                  # Eunomia, q1-q9's Circe expressions
    python benchmarks/whole_process.py --db benchmarks/.data/synthetic-100000-seed42.duckdb --questions q7 q8 q9

What a user waits for, from the command to the answer, each run a new process:
- **ours**: `cohortql count EXAMPLE --db duckdb:///DB --by A --by B --format json`, the
  definition's two-way breakdown or sex x age10 (harness.breakdown_of): imports, parse,
  resolve, the one-pass query, protection of attrition, gains and table, the JSON report;
- **DuckCDM** (PyPI `duckcdm`, a benchmark dependency): what its WebAPI does to generate a
  cohort with inclusion statistics (`duckcdm/webapi/app.py`, `run_generation`): open the DuckDB
  file writable (`Source`, which creates its results tables), build the cohort query from the
  same Circe expression as the Circe rows of run_benchmarks.py (`build_cohort_query`,
  `generate_stats=True`), record the inclusion rules, run the script, count the cohort. On a
  copy of the database (it writes), made once per database.
The two alternate within each repeat (ours first on odd repeats), after one warm-up each;
medians of the wall times. Both final counts are compared on every row. Run as
`python benchmarks/whole_process.py duckcdm EXPRESSION DB` it is DuckCDM's side alone (one
process, one JSON line).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
COHORTS = {
    "q1": "q1_gi_bleed_nsaid", "q2": "q2_recurrent_uti", "q3": "q3_new_af_warfarin", "q4": "q4_coronary_events",
    "q5": "q5_anemia_hemoglobin", "q6": "q6_long_sinusitis", "q7": "q7_type2_diabetes_trial",
    "q8": "q8_heart_failure", "q9": "q9_breast_cancer_chemo",
}


def duckcdm_generate(expression_path: Path, db: Path) -> int:
    """DuckCDM's `run_generation`, as its WebAPI runs it; returns the cohort's person count."""
    from duckcdm.circe import build_cohort_query
    from duckcdm.sqlrender import render
    from duckcdm.webapi.sources import Source

    source = Source(1, "bench", "bench", str(db))
    expression = json.loads(expression_path.read_text(encoding="utf-8"))
    cohort_id = 1
    sql = build_cohort_query(expression, cdm_schema=source.cdm_schema, vocabulary_schema=source.vocab_schema,
                             result_schema=source.results_schema, target_table=source.results_schema + ".cohort",
                             cohort_id=cohort_id, generate_stats=True)
    cursor = source.cursor()
    cursor.execute(f"DELETE FROM {source.results_schema}.cohort_inclusion WHERE cohort_definition_id = ?", [cohort_id])
    for i, rule in enumerate(expression.get("InclusionRules") or []):
        cursor.execute(f"INSERT INTO {source.results_schema}.cohort_inclusion VALUES (?, NULL, ?, ?, ?)",
                       [cohort_id, i, (rule.get("name") or "")[:255], (rule.get("description") or "")[:1000]])
    source.execute_script(render(sql), cursor)
    (persons,) = cursor.execute(f"SELECT count(DISTINCT subject_id) FROM {source.results_schema}.cohort"
                                " WHERE cohort_definition_id = ?", [cohort_id]).fetchone()
    source.con.close()
    return int(persons)


def expression_of(question: str) -> Path:
    circe = HERE / "circe" / f"{question}.json"
    return circe if circe.exists() else ROOT / "tests" / "reference" / "circe" / f"{question}.json"


def _timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def compare(question: str, db: Path, writable: Path, repeats: int) -> dict:
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT))
    from harness import breakdown_of

    from cohortql import pipeline

    example = ROOT / "examples" / f"{COHORTS[question]}.cohort"
    by = breakdown_of(pipeline.compile_source(pipeline.read_source(example)))
    ours = [str(Path(PYTHON).with_name("cohortql")), "count", str(example), "--db", f"duckdb:///{db}",
            *(arg for name in by for arg in ("--by", name)), "--format", "json"]
    theirs = [PYTHON, str(Path(__file__)), "duckcdm", str(expression_of(question)), str(writable)]
    walls: dict[str, list[float]] = {"ours": [], "duckcdm": []}
    finals = {}
    for repeat in range(repeats + 1):  # the first pair warms the file cache and is not counted
        order = [("ours", ours), ("duckcdm", theirs)] if repeat % 2 else [("duckcdm", theirs), ("ours", ours)]
        for name, command in order:
            seconds, out = _timed(command)
            if repeat:
                walls[name].append(seconds)
            # Ours is the released count: a small one shows only as `<k`.
            finals[name] = (_released_final(json.loads(out)["final"]) if name == "ours"
                            else json.loads(out.strip().splitlines()[-1])["final"])
    row = {"question": question, "db": db.name, "by": " x ".join(by), "walls": walls,
           "final_ours": finals["ours"], "final_duckcdm": finals["duckcdm"]}
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def eunomia_file() -> Path:
    """The Eunomia demo CDM `cohortql count` reads without --db (built on first use)."""
    sys.path.insert(0, str(ROOT))
    from cohortql.execute.eunomia import eunomia_cdm_path

    return eunomia_cdm_path()


def _released_final(final: dict) -> int | str:
    return final["value"] if final["value"] is not None else final["display"]


def _count(value: int | str) -> str:
    return f"{value:,}" if isinstance(value, int) else value


def writable_copy(db: Path) -> Path:
    copy = db.with_name(db.stem + ".duckcdm.duckdb")
    if not copy.exists() or copy.stat().st_mtime < db.stat().st_mtime:
        shutil.copyfile(db, copy)
    return copy


def table(rows: list[dict]) -> str:
    lines = [
        "| data | cohort | breakdown | final ours / DuckCDM | `cohortql count` s | DuckCDM s | DuckCDM / ours |",
        "|---|---|---|---|---:|---:|---:|",
    ]
    for r in rows:
        ours, theirs = statistics.median(r["walls"]["ours"]), statistics.median(r["walls"]["duckcdm"])
        finals = f"{_count(r['final_ours'])} / {_count(r['final_duckcdm'])}"
        if isinstance(r["final_ours"], int) and r["final_ours"] != r["final_duckcdm"]:
            finals += " (differ)"
        lines.append(f"| {r['db']} | {r['question']} | {r['by']} | {finals} | {ours:.2f} | {theirs:.2f} |"
                     f" {theirs / ours:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "duckcdm":
        print(json.dumps({"final": duckcdm_generate(Path(sys.argv[2]), Path(sys.argv[3]))}))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a DuckDB CDM (default: the Eunomia demo CDM)")
    parser.add_argument("--questions", nargs="+", default=list(COHORTS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, help="append the table (Markdown) to this file")
    args = parser.parse_args()
    args.db = args.db or eunomia_file()
    copy = writable_copy(args.db)
    rows = [compare(q, args.db, copy, args.repeats) for q in args.questions]
    text = table(rows)
    print(text)
    if args.out:
        with args.out.open("a", encoding="utf-8") as out:
            out.write(text)


if __name__ == "__main__":
    main()
