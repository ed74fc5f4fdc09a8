"""The examples on a synthetic Parquet CDM with local Spark: time per cohort, checked against DuckDB.

    python benchmarks/spark_benchmark.py [--cdm DIR/] [--persons 1000000] [--seed 42]
                                         [--master 'local[*]'] [--driver-memory 8g]
                                         [--conf spark.sql.shuffle.partitions=16 ...]
                                         [--repeats 1] [--examples q1 q4] [--no-compare]

`--cdm` is any directory of OMOP Parquet tables (`person.parquet` or `person/*.parquet`, e.g.
from `cohortql fixtures generate --persons N --out DIR/` or `cohortql load SOURCE --parquet DIR`). Without it the
synthetic CDM of `--persons` persons is generated first into a temporary directory. Each example
runs as `cohortql count --db spark://MASTER/DIR?format=parquet` runs it (`run_cohort` with the
definition's breakdown: a fresh session, the CDM tables as views, the inputs, cached concept
sets, the one-pass query; only the aggregated rows are collected), `--repeats` times (median),
after one warm-up run of the first example that starts the Spark context and the JVM. Unless
`--no-compare`, the same rendered cohort runs on DuckDB over the same Parquet files and the raw
rows must be identical.
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

import duckdb  # noqa: E402

from cohortql import pipeline  # noqa: E402
from cohortql.execute.runner import run_cohort  # noqa: E402
from cohortql.execute.spark import cdm_tables  # noqa: E402
from cohortql.execute.target import resolve_target  # noqa: E402
from cohortql.render import render  # noqa: E402


def _timed(run, repeats: int) -> tuple[float, list[float], object]:
    """(median, every run's seconds, result)."""
    walls = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        walls.append(time.perf_counter() - started)
    return statistics.median(walls), walls, result


def _duckdb_over_parquet(cdm: Path, workdir: Path) -> str:
    """A DuckDB file whose CDM tables are views over the Parquet files: the same data for DuckDB."""
    path = workdir / "parquet_views.duckdb"
    con = duckdb.connect(str(path))
    for table in cdm_tables():
        for candidate in (cdm / f"{table}.parquet", cdm / table):
            if candidate.exists():
                pattern = str(candidate / "*.parquet") if candidate.is_dir() else str(candidate)
                escaped = pattern.replace("'", "''")
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{escaped}')")
                break
    con.close()
    return f"duckdb:///{path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cdm", help="a directory of OMOP Parquet tables (default: generate one)")
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--driver-memory", default="8g", help="local mode: the driver is the only executor")
    parser.add_argument("--conf", action="append", default=[], help="a Spark setting KEY=VALUE (repeatable)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--examples", nargs="*", help="example prefixes (default: all), e.g. q1 q4")
    parser.add_argument("--no-compare", action="store_true", help="skip the DuckDB run on the same files")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cohortql-spark-bench-") as workdir:
        report: dict = {"master": args.master, "conf": args.conf, "repeats": args.repeats, "examples": {}}
        cdm = Path(args.cdm) if args.cdm else None
        if cdm is None:
            from cohortql.fixtures.synthetic import generate

            started = time.perf_counter()
            cdm = generate(Path(workdir) / "cdm/", args.persons, args.seed)
            report.update(persons=args.persons, seed=args.seed, generate_seconds=round(time.perf_counter() - started))
        report["cdm"] = str(cdm)
        settings = "&".join([f"spark.driver.memory={args.driver_memory}", *args.conf])
        spark = resolve_target(f"spark://{args.master}{cdm.resolve()}?format=parquet&{settings}")
        duck = None if args.no_compare else resolve_target(_duckdb_over_parquet(cdm, Path(workdir)))

        paths = sorted((ROOT / "examples").glob("*.cohort"))
        if args.examples:
            paths = [p for p in paths if p.stem.split("_")[0] in args.examples]
        warm = render(pipeline.compile_source(pipeline.read_source(paths[0])).plan)
        started = time.perf_counter()
        run_cohort(warm, spark)
        report["warmup_seconds"] = round(time.perf_counter() - started, 2)
        print(f"warm-up ({paths[0].stem}, Spark context start included): {report['warmup_seconds']:.1f}s", flush=True)
        print(f"{'example':<28} {'spark s':>8} {'duckdb s':>9} {'persons':>10}  same rows", flush=True)
        for path in paths:
            plan = pipeline.compile_source(pipeline.read_source(path)).plan
            rendered = render(plan, strata=plan.breakdown)

            def on(target, rendered=rendered):
                return sorted(run_cohort(rendered, target).rows, key=repr)

            spark_seconds, walls, rows = _timed(lambda on=on: on(spark), args.repeats)
            entry = {"spark_seconds": round(spark_seconds, 2), "spark_runs": [round(w, 2) for w in walls]}
            entry["final_persons"] = sum(row[2] for row in rows if row[0] == (1 << len(plan.rules)) - 1)
            duck_text = "-"
            if duck is not None:
                duck_seconds, _, duck_rows = _timed(lambda on=on: on(duck), args.repeats)
                entry.update(duckdb_seconds=round(duck_seconds, 2), same_rows=rows == duck_rows)
                duck_text = f"{duck_seconds:.2f}"
            same = {True: "yes", False: "NO", None: "-"}[entry.get("same_rows")]
            final = entry["final_persons"]
            print(f"{path.stem:<28} {spark_seconds:>8.2f} {duck_text:>9} {final:>10,}  {same}", flush=True)
            report["examples"][path.stem] = entry
    print(json.dumps(report))
    if any(e.get("same_rows") is False for e in report["examples"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
