"""The examples on a synthetic CDM in PostgreSQL: load time, then each cohort's time, beside DuckDB.

    python benchmarks/postgres_examples.py [--persons 100000] [--seed 42] [--source FILE.duckdb]
                                           [--db postgresql://postgres@127.0.0.1:5432/postgres]
                                           [--schema cq_bench] [--repeats 3] [--reuse]

Without `--source`, generates the CDM first (`cohortql fixtures generate`, into a temporary
file). Loads it with `cohortql load` (COPY, indexes, ANALYZE; `--reuse` skips the load when the
schema is already there), then runs every example (`run_cohort` with the definition's breakdown:
temporary tables, concept sets, the one-pass query; a new connection per run) on PostgreSQL and
on the DuckDB source, a warm-up and `--repeats` timed runs each, and checks the raw rows agree.
Prints a table, then one JSON line with every number.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from cohortql import pipeline  # noqa: E402
from cohortql.execute.loader import load  # noqa: E402
from cohortql.execute.runner import run_cohort  # noqa: E402
from cohortql.execute.target import resolve_target  # noqa: E402
from cohortql.render import render  # noqa: E402


def _timed(run, repeats: int) -> tuple[float, object]:
    result = run()  # warm-up: server caches, DuckDB file pages
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        walls.append(time.perf_counter() - started)
    return statistics.median(walls), result


def _schema_loaded(db: str, schema: str) -> bool:
    engine = sa.create_engine(resolve_target(db).url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{schema}.person"}).scalar()
    engine.dispose()
    return bool(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--source", help="an OMOP CDM DuckDB file (default: generate one)")
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--schema", default="cq_bench")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded schema")
    args = parser.parse_args()
    report: dict = {"persons": args.persons, "seed": args.seed, "schema": args.schema, "examples": {}}

    with tempfile.TemporaryDirectory(prefix="cohortql-bench-") as workdir:
        source = args.source
        if source is None:
            from cohortql.fixtures.synthetic import generate

            started = time.perf_counter()
            source = str(generate(Path(workdir) / "synthetic.duckdb", args.persons, args.seed))
            report["generate_seconds"] = round(time.perf_counter() - started, 1)
        report["source"] = source
        if not (args.reuse and _schema_loaded(args.db, args.schema)):
            loaded = load(source, args.db, args.schema, replace=True, progress=lambda m: print(m, file=sys.stderr))
            report["load_seconds"] = round(loaded.seconds, 1)
            report["rows"] = sum(loaded.rows.values())

        pg = resolve_target(args.db, args.schema)
        duck = resolve_target(f"duckdb:///{source}")
        print(f"{'example':<28} {'postgres s':>10} {'duckdb s':>9} {'persons':>9}  same rows")
        for path in sorted((ROOT / "examples").glob("*.cohort")):
            compiled = pipeline.compile_source(pipeline.read_source(path))
            strata = compiled.plan.breakdown

            def on(target, compiled=compiled, strata=strata):
                rendered = render(compiled.plan, target.cdm_schema, target.vocab_schema, strata=strata)
                return sorted(run_cohort(rendered, target).rows, key=repr)

            pg_seconds, pg_rows = _timed(lambda on=on: on(pg), args.repeats)
            duck_seconds, duck_rows = _timed(lambda on=on: on(duck), args.repeats)
            final = sum(row[2] for row in pg_rows if row[0] == (1 << len(compiled.plan.rules)) - 1)
            same = pg_rows == duck_rows
            print(f"{path.stem:<28} {pg_seconds:>10.2f} {duck_seconds:>9.2f} {final:>9,}  {'yes' if same else 'NO'}")
            report["examples"][path.stem] = {
                "postgres_seconds": round(pg_seconds, 3),
                "duckdb_seconds": round(duck_seconds, 3),
                "final_persons": final,
                "same_rows": same,
            }
    print(json.dumps(report))
    if not all(e["same_rows"] for e in report["examples"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
