"""Time the synthetic generator: wall and CPU seconds and peak memory to write N persons; prints one JSON line.

    python benchmarks/generate_speed.py [--persons 1000000] [--seed 42] [--out FILE.duckdb|DIR/]

Runs in this (fresh) process, so the peak resident memory is the generator's: Python, DuckDB's
buffer pool (capped by the generator's memory limit) and the chunk being built. Without `--out`
it writes to a temporary directory and deletes the result. The target (issue 8): one million
persons in under two minutes on two cores, memory bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cohortql.fixtures.synthetic import generate, table_checksums  # noqa: E402


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss would include a parent's peak before exec)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(persons: int, seed: int, out: str | Path) -> dict:
    wall, cpu = time.perf_counter(), _cpu()
    path = generate(out, persons, seed)
    result = {
        "persons": persons,
        "seed": seed,
        "wall_seconds": round(time.perf_counter() - wall, 1),
        "cpu_seconds": round(_cpu() - cpu, 1),
        "peak_rss_mb": round(peak_rss_mb()),
        "cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 1),
    }
    if path.is_file():
        result["rows"] = {table: rows for table, (rows, _) in table_checksums(path).items()}
        result["file_mb"] = round(path.stat().st_size / 2**20)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", help="FILE.duckdb or DIR/ (default: a temporary file, deleted)")
    args = parser.parse_args()
    scratch = None if args.out else tempfile.mkdtemp(prefix="cohortql-generate-")
    out = args.out or Path(scratch) / "synthetic.duckdb"  # a trailing / (Parquet) must reach generate()
    try:
        print(json.dumps(measure(args.persons, args.seed, out)))
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
