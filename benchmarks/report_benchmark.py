"""The feasibility report against `cohortql count` with the same breakdowns, each a fresh CLI process.

    python benchmarks/report_benchmark.py --persons 100000 [--repeats 3] [--cohort examples/q7_...cohort]
    python benchmarks/report_benchmark.py --db duckdb:///cdm.duckdb

Methods, on the same DuckDB CDM (a synthetic one of `--persons` persons, generated once into
benchmarks/.cache/, seed 42, unless `--db` names one), each through the what-if cache (a fresh one
per benchmark run, filled by the warm-up run: as a user's second run) and with `--no-cache` (the
one-pass query every time):
- `count`: `cohortql count FILE --by site --by age10 --format json`: the one-pass query and its
  protected table by site (with site-group subtotals) and age band, the breakdown q7 asks for
  (`count --by site --by month` would release every month since the data begin, 20 years of
  them: far more cells than the report's 36-month series, and far slower);
- `report`: `cohortql report FILE -o report.html`: the same query by site, sex, age band and month,
  one release of its four tables, the forecast, the charts and the page.
- `report_pdf`: the same, printed to PDF by headless Chromium (when `--pdf` is given).

Each method runs once to warm up, then `--repeats` timed rounds (every method once per round);
prints one JSON object with every wall time and CPU time (user + system, seconds), the medians,
report / count with and without the cache, and the machine's 1-minute load average before and
after each round (on a shared machine the CPU times are the steadier figure).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
Q7 = ROOT / "examples" / "q7_type2_diabetes_trial.cohort"


def _cli(*args: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(CACHE / "no-config")}  # no profile
    env.pop("COHORTQL_PROFILE", None)
    env.pop("COHORTQL_DB", None)
    started, before = time.perf_counter(), _children_cpu()
    subprocess.run([sys.executable, "-c", "from cohortql.cli import main; main()", *args], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    CPU.append(_children_cpu() - before)
    return time.perf_counter() - started


CPU: list[float] = []  # CPU seconds (user + system) of each run, in order: less hurt by a busy machine


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _database(persons: int) -> str:
    path = CACHE / f"synthetic-{persons}.duckdb"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        _cli("fixtures", "generate", "--persons", str(persons), "--out", str(path))
    return f"duckdb:///{path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--db", help="a CDM to use instead of a generated one")
    parser.add_argument("--cohort", type=Path, default=Q7)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pdf", action="store_true", help="also time the PDF")
    options = parser.parse_args()
    db = options.db or _database(options.persons)
    cohort = str(options.cohort)
    with tempfile.TemporaryDirectory(prefix="cohortql-report-bench-") as work:
        count = ["count", cohort, "--db", db, "--by", "site", "--by", "age10", "--format", "json"]
        report = ["report", cohort, "--db", db, "-o", str(Path(work) / "report.html"), "--target", "100"]
        cache = ["--cache", str(Path(work) / "cache")]
        methods = {
            "count": [*count, *cache], "report": [*report, *cache],
            "count_no_cache": [*count, "--no-cache"], "report_no_cache": [*report, "--no-cache"],
        }
        if options.pdf:
            methods["report_pdf"] = ["report", cohort, "--db", db, "-o", str(Path(work) / "report.pdf")]
        for args in methods.values():
            _cli(*args)  # warm-up: file cache, DuckDB's first open, the what-if cache filled
        times: dict[str, list[float]] = {name: [] for name in methods}
        cpu: dict[str, list[float]] = {name: [] for name in methods}
        loads = [os.getloadavg()[0]]
        for _ in range(options.repeats):  # round robin: a busy spell of the machine hits every method alike
            for name, args in methods.items():
                times[name].append(_cli(*args))
                cpu[name].append(CPU[-1])
            loads.append(os.getloadavg()[0])
    medians = {name: statistics.median(runs) for name, runs in times.items()}
    cpu_medians = {name: statistics.median(runs) for name, runs in cpu.items()}
    print(json.dumps({
        "cohort": options.cohort.name, "db": db if options.db else f"synthetic, {options.persons} persons",
        "seconds": times, "median": medians, "report_over_count": medians["report"] / medians["count"],
        "report_over_count_no_cache": medians["report_no_cache"] / medians["count_no_cache"],
        "cpu_seconds": cpu, "cpu_median": cpu_medians,
        "cpu_report_over_count": cpu_medians["report"] / cpu_medians["count"],
        "cpu_report_over_count_no_cache": cpu_medians["report_no_cache"] / cpu_medians["count_no_cache"],
        "load_average_1min": [round(x, 1) for x in loads],
    }, indent=2))


if __name__ == "__main__":
    main()
