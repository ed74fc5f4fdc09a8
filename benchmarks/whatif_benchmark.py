"""The what-if targets of issue 16, measured: re-counts through the cache, sweeps, cold counts, start-up.

    python benchmarks/whatif_benchmark.py --db duckdb:////work/data/synthetic-1000000.duckdb
    python benchmarks/whatif_benchmark.py --db ... --postgres postgresql://postgres@127.0.0.1:5432/postgres \
        --pg-schema synthetic_100000 --spark-parquet /tmp/tiny-parquet --bitmaps --write-docs

Every timed call runs in a new process (`--child`, one JSON line back), as a designer's next
command would: `import cohortql`, then only the `cohortql.count()` / `cohortql.sweep()` call is
timed (the imports it does lazily, the connection, the data versions, reading the cache, the
database work and protection are all inside). Per cohort and repeat, with a new cache directory:
1. **cold**: `count(original, cache=DIR)` on the empty cache (this also warms DIR);
2. **one pass**: `count(original, cache=False)`, the count without the cache;
3. **re-count**: `count(edited, cache=DIR)`, one number of one rule changed (a different value
   each repeat, so the edited rule is never in the cache); the same process then counts the
   edited text with `cache=False` and the two released results must be identical;
4. **sweep**: `sweep(original, rule, 10 values, cache=DIR)` of another rule, the cache holding
   the original (the designer's loop), and on an empty cache (`sweep cold`).
`cohortql --help` is timed as a whole process. `--bitmaps` times the client's per-count work
(combine rule vectors into masks, each person's best entry, group by mask and stratum) at 1M
entries with numpy, pyroaring (if importable) and DuckDB over Arrow, in this process.

Medians; the 1-minute load average is recorded around every section (the machine may be
shared). Results: benchmarks/whatif_results.json; `--write-docs` replaces the what-if section of
docs/performance.md (between its `whatif` markers).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXAMPLES = ROOT / "examples"
BEGIN, END = "<!-- whatif: begin (written by benchmarks/whatif_benchmark.py) -->", "<!-- whatif: end -->"

# Per cohort: the edit of the re-count target (text replaced, value per repeat) and the sweep.
COHORTS = {
    "q7": {
        "file": "q7_type2_diabetes_trial.cohort",
        "edit": ("value between 7.0 and 10.5", "value between 7.0 and {v}", lambda i: f"{9.5 + 0.1 * i:.1f}"),
        "edit_rule": "HbA1c 7.0-10.5%",
        "sweep": ("age 18-75", "66..75/1", 2),
    },
    "q8": {
        "file": "q8_heart_failure.cohort",
        "edit": ("value > 600", "value > {v}", lambda i: str(500 + 7 * i)),
        "edit_rule": "NT-proBNP > 600 pg/mL",
        "sweep": ("HF hospitalisation in past year", "180..405/25", 1),
    },
    "q9": {
        "file": "q9_breast_cancer_chemo.cohort",
        "edit": ("age >= 18", "age >= {v}", lambda i: str(19 + i)),
        "edit_rule": "18+",
        "sweep": ("2+ paclitaxel cycles", "300..390/10", 2),
    },
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _digest(result) -> str:
    return hashlib.sha256(json.dumps(result.to_dict(), sort_keys=True, default=str).encode()).hexdigest()


def load() -> float:
    return round(os.getloadavg()[0], 2)


# the child: one timed call in a fresh process ---------------------------------------------------


def child(spec: dict) -> dict:
    import cohortql

    options = {"db": spec["db"], "cdm_schema": spec.get("cdm_schema"), "cache": spec["cache"] or False}
    if spec["op"] == "phases":
        return phases(spec)
    wall, cpu = time.perf_counter(), _cpu()
    if spec["op"] == "sweep":
        rule, vary, number = spec["sweep"]
        result = cohortql.sweep(spec["text"], rule, vary, number=number, **options)
        out = {"finals": [cell.display for _value, cell in result.finals()]}
    else:
        result = cohortql.count(spec["text"], **options)
        out = {"final": result.final.display, "digest": _digest(result)}
    out.update(wall=time.perf_counter() - wall, cpu=_cpu() - cpu)
    if spec.get("check"):  # the cold answer of the same text: must be identical
        cold = cohortql.count(spec["text"], **{**options, "cache": False})
        out["same_as_cold"] = _digest(cold) == out["digest"]
    return out


def phases(spec: dict) -> dict:
    """Where a re-count's time goes, in a new process: the same steps as `cohortql.count()`, timed one by one."""
    found: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(label: str) -> None:
        now = time.perf_counter()
        found[label] = found.get(label, 0.0) + now - clock[0]
        clock[0] = now

    from cohortql import api, pipeline
    from cohortql.whatif import app  # noqa: F401  (what api._counter imports)

    lap("imports")
    compiled = pipeline.compile_source(api._source(spec["text"]))
    lap("parse + resolve")
    counter = api._counter(spec["db"], spec.get("cdm_schema"), None, None, spec["cache"])
    lap("target")
    from cohortql.protect.profile import active_policy
    from cohortql.render.strata import strata_for

    policy = active_policy().policy
    lap("policy")
    statements: list[float] = []
    run = counter._run

    def timed_run(rendered, statement):
        start = time.perf_counter()
        try:
            return run(rendered, statement)
        finally:
            statements.append(time.perf_counter() - start)

    counter._run = timed_run
    dimensions = compiled.plan.breakdown
    raw, catalogue = counter.counts(compiled.plan, strata_for(dimensions))
    lap("counts")
    pipeline.protect_counts(compiled, counter.target, raw, catalogue, dimensions, policy)
    lap("protect")
    return {"phases": found, "statements": statements, "computed_tests": counter.computed_tests}


def run_child(spec: dict) -> dict:
    # Bytecode is kept (as an installed package has it): PYTHONDONTWRITEBYTECODE would compile every module again.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed ({spec['op']}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# the measurements ----------------------------------------------------------------------------------


def cohort_runs(name: str, db: str, cdm_schema: str | None, repeats: int, sweeps: bool) -> dict:
    cohort = COHORTS[name]
    text = (EXAMPLES / cohort["file"]).read_text(encoding="utf-8")
    old, template, value = cohort["edit"]
    assert old in text, (name, old)
    base = {"db": db, "cdm_schema": cdm_schema}
    runs: dict[str, list] = {
        "cold": [],
        "one_pass": [],
        "recount": [],
        "recount_unchanged": [],
        "phases": [],
        "sweep": [],
        "sweep_cold": [],
    }
    loads = [load()]
    for i in range(repeats):
        with (
            tempfile.TemporaryDirectory(prefix="whatif-bench-") as cache,
            tempfile.TemporaryDirectory(prefix="whatif-bench-") as empty,
        ):
            runs["cold"].append(run_child({**base, "op": "count", "text": text, "cache": cache}))
            runs["one_pass"].append(run_child({**base, "op": "count", "text": text, "cache": None}))
            runs["recount_unchanged"].append(run_child({**base, "op": "count", "text": text, "cache": cache}))
            edited = text.replace(old, template.format(v=value(i)))
            runs["recount"].append(run_child({**base, "op": "count", "text": edited, "cache": cache, "check": True}))
            again = text.replace(old, template.format(v=value(i + repeats)))
            runs["phases"].append(run_child({**base, "op": "phases", "text": again, "cache": cache}))
            if sweeps:
                runs["sweep"].append(
                    run_child({**base, "op": "sweep", "text": text, "cache": cache, "sweep": cohort["sweep"]})
                )
                runs["sweep_cold"].append(
                    run_child({**base, "op": "sweep", "text": text, "cache": empty, "sweep": cohort["sweep"]})
                )
        loads.append(load())
    return {
        "runs": runs,
        "load": loads,
        "edit": f"{cohort['edit_rule']}: `{old}` -> `{template}`",
        "sweep": cohort["sweep"],
    }


def engine_runs(label: str, db: str, schema: str | None, names: list[str], repeats: int, sweeps: bool) -> dict:
    """Every cohort on one database; a failing cohort is recorded (with its error), not fatal."""
    cohorts = {}
    for name in names:
        try:
            cohorts[name] = cohort_runs(name, db, schema, repeats, sweeps)
        except SystemExit as error:
            cohorts[name] = {"error": str(error)[-800:]}
        print(f"{label} {name}: done, load {load()}", file=sys.stderr, flush=True)
    return {"label": label, "cohorts": cohorts}


def help_runs(repeats: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    script = Path(sys.executable).with_name("cohortql")
    command = [str(script), "--help"] if script.exists() else [sys.executable, "-m", "cohortql", "--help"]
    walls, loads = [], [load()]
    for _ in range(repeats + 1):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, check=True)
        walls.append(time.perf_counter() - start)
    loads.append(load())
    return {"walls": walls[1:], "load": loads}  # the first run warms the OS's file cache


def bitmaps(n_entries: int, rules: int, repeats: int) -> dict:
    """The client's per-count work on synthetic vectors: numpy, pyroaring, DuckDB over Arrow."""
    import numpy as np

    from cohortql.whatif.vectors import Entries, Stratum, raw_counts

    rng = np.random.default_rng(42)
    runs = rng.integers(1, 4, size=n_entries)  # 1-3 entries per person
    person_of = np.repeat(np.arange(len(runs)), runs)[:n_entries]
    starts = np.flatnonzero(np.r_[True, person_of[1:] != person_of[:-1]])
    entries = Entries(n_entries, np.unique(person_of).astype(np.int64), starts.astype(np.int64))
    tests = [rng.random(n_entries) < 0.3 + 0.6 * rng.random() for _ in range(rules)]
    kinds = tuple("exclude" if j % 3 == 2 else "include" for j in range(rules))
    stratum = Stratum(rng.integers(0, 16, size=n_entries).astype(np.int32), tuple(f"site {k}" for k in range(16)))
    names = tuple(f"r{j}" for j in range(rules))
    found: dict[str, dict] = {}

    def measure(label: str, fn) -> None:
        fn()
        walls = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            walls.append(time.perf_counter() - start)
        found[label] = {"median": statistics.median(walls), "walls": walls}

    def numpy_mask():
        bits = [~t if k == "exclude" else t for t, k in zip(tests, kinds, strict=True)]
        alive = np.ones(n_entries, dtype=bool)
        return [int((alive := alive & b).sum()) for b in bits]

    measure("numpy: attrition of entries (cumulative AND)", numpy_mask)
    measure(
        "numpy: best entry per person + group by (mask, site)",
        lambda: raw_counts(names, kinds, entries, tests, {"site": stratum}),
    )
    try:
        import pyroaring
    except ImportError:
        found["pyroaring"] = {"median": None, "note": "not importable"}
    else:
        universe = pyroaring.BitMap(range(n_entries))
        maps = [pyroaring.BitMap(np.flatnonzero(t).astype(np.uint32)) for t in tests]
        maps = [universe - m if k == "exclude" else m for m, k in zip(maps, kinds, strict=True)]

        def roaring_mask():
            alive = universe
            return [len(alive := alive & m) for m in maps]

        def roaring_group():  # no grouped arg-max in roaring: back to numpy for the best entry
            back = []
            for m in maps:
                dense = np.zeros(n_entries, dtype=bool)
                dense[np.asarray(m.to_array(), dtype=np.int64)] = True
                back.append(dense)
            tests_back = [~b if k == "exclude" else b for b, k in zip(back, kinds, strict=True)]
            return raw_counts(names, kinds, entries, tests_back, {"site": stratum})

        measure("pyroaring: attrition of entries (cumulative AND)", roaring_mask)
        measure("pyroaring: to numpy, then best entry + group by", roaring_group)
        found["pyroaring"] = {
            "version": pyroaring.__version__,
            "bytes": sum(len(m.serialize()) for m in maps),
        }
    import duckdb
    import pyarrow as pa

    columns = {"entry": np.arange(n_entries), "person": person_of, "site": stratum.codes}
    columns.update({f"t{j}": t for j, t in enumerate(tests)})
    table = pa.table(columns)
    bits = " + ".join(
        f"(CASE WHEN {'NOT ' if k == 'exclude' else ''}t{j} THEN {1 << j} ELSE 0 END)" for j, k in enumerate(kinds)
    )
    met = " + ".join(
        f"(CASE WHEN {'NOT ' if k == 'exclude' else ''}t{j} THEN 1 ELSE 0 END)" for j, k in enumerate(kinds)
    )
    sql = f"""
        WITH m AS (SELECT entry, person, site, {bits} AS mask, {met} AS met FROM entries),
        best AS (SELECT person, arg_max(mask, (met, -entry)) AS mask, arg_max(site, (met, -entry)) AS site,
                        count(*) AS n FROM m GROUP BY person)
        SELECT mask, site, count(*), sum(n) FROM best GROUP BY mask, site ORDER BY mask, site"""

    def duck_group():
        con = duckdb.connect()
        con.register("entries", table)
        return con.execute(sql).fetchall()

    measure("DuckDB over Arrow: best entry + group by (new connection)", duck_group)
    return {"entries": n_entries, "persons": entries.persons, "rules": rules, "results": found}


# the report -----------------------------------------------------------------------------------------


def med(runs: list[dict], key: str = "wall") -> float | None:
    return statistics.median(run[key] for run in runs) if runs else None


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def cohort_table(title: str, results: dict) -> list[str]:
    lines = [
        f"#### {title}",
        "",
        "| cohort | final | cold s (CPU) | one pass s (CPU) | cold / one pass | re-count, one rule edited s (CPU)"
        " | same as cold | re-count, nothing edited s | sweep of 10 s (cache warm / empty) | load average |",
        "|---|---:|---|---|---:|---|---|---:|---|---|",
    ]
    failed = {name: data["error"] for name, data in results.items() if "error" in data}
    results = {name: data for name, data in results.items() if "error" not in data}
    for name, data in results.items():
        runs = data["runs"]
        same = all(run["same_as_cold"] for run in runs["recount"])
        cold, one = med(runs["cold"]), med(runs["one_pass"])
        sweep = f"{fmt(med(runs['sweep']))} / {fmt(med(runs['sweep_cold']))}" if runs["sweep"] else "-"
        lines.append(
            f"| {name} | {runs['cold'][0]['final']} | {fmt(cold)} ({fmt(med(runs['cold'], 'cpu'))}) | {fmt(one)} "
            f"({fmt(med(runs['one_pass'], 'cpu'))}) | {fmt(cold / one)} | {fmt(med(runs['recount']))} "
            f"({fmt(med(runs['recount'], 'cpu'))}) | {'yes' if same else '**no**'} | "
            f"{fmt(med(runs['recount_unchanged']))} | {sweep} | {min(data['load']):.1f} to {max(data['load']):.1f} |"
        )
    lines += [
        "",
        "Edits (a new value each repeat): "
        + "; ".join(f"{name} {data['edit']}" for name, data in results.items())
        + ". Sweeps: "
        + "; ".join(
            f'{name} "{data["sweep"][0]}" number {data["sweep"][2]} over {data["sweep"][1]}'
            for name, data in results.items()
        )
        + ".",
        "",
    ]
    lines += phase_table(results)
    lines += [f"{name} failed: `{error.strip().splitlines()[-1]}`" for name, error in failed.items()]
    return lines


def phase_table(results: dict) -> list[str]:
    """Medians of each step of a one-rule-edit re-count (another new value), by cohort."""
    rows = [name for name, data in results.items() if data["runs"].get("phases")]
    if not rows:
        return []
    labels = list(results[rows[0]]["runs"]["phases"][0]["phases"])
    lines = [
        "Where a one-rule-edit re-count's time goes (the same steps timed one by one in a new process, medians, s;"
        " *statements*: each database statement's wall time):",
        "",
        "| cohort | " + " | ".join(labels) + " | statements |",
        "|---|" + "---:|" * len(labels) + "---|",
    ]
    for name in rows:
        runs = results[name]["runs"]["phases"]
        cells = [f"{statistics.median(run['phases'][label] for run in runs):.3f}" for label in labels]
        statements = " + ".join(f"{x:.3f}" for x in runs[len(runs) // 2]["statements"])
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {statements} |")
    return [*lines, ""]


def report(results: dict) -> str:
    meta = results["meta"]
    lines = [
        f"Measured {meta['when']} on {meta['machine']}, Python {meta['python']}; medians of "
        f"{meta['repeats']} runs, each call in a new process; 1-minute load average "
        f"{meta['load_min']:.1f} to {meta['load_max']:.1f} (2 cores, shared with other jobs: above 2 the "
        "cores were shared, which inflates wall times; CPU seconds move less).",
        "",
    ]
    if "duckdb" in results:
        lines += cohort_table(f"DuckDB, {results['duckdb']['label']}", results["duckdb"]["cohorts"])
    if "postgres" in results:
        lines += cohort_table(f"PostgreSQL, {results['postgres']['label']}", results["postgres"]["cohorts"])
    if "spark" in results:
        lines += cohort_table(f"Spark local, {results['spark']['label']}", results["spark"]["cohorts"])
    if "help" in results:
        walls = results["help"]["walls"]
        lines += [
            f"`cohortql --help`, whole process: median {statistics.median(walls):.2f} s over {len(walls)} runs "
            f"(min {min(walls):.2f} s), load average {min(results['help']['load']):.1f} to "
            f"{max(results['help']['load']):.1f}.",
            "",
        ]
    if "bitmaps" in results:
        b = results["bitmaps"]
        lines += [
            f"#### Bitmaps: {b['entries']:,} entries, {b['persons']:,} persons, {b['rules']} rules, "
            "16 sites (in one process, medians)",
            "",
            "| method | s |",
            "|---|---:|",
        ]
        for label, value in b["results"].items():
            if "walls" in value:
                lines.append(f"| {label} | {value['median']:.4f} |")
        roaring = b["results"].get("pyroaring", {})
        lines += [
            "",
            f"pyroaring: {roaring.get('note') or 'version ' + roaring.get('version', '?')}"
            + (
                f", {roaring['bytes'] / 1e6:.2f} MB serialised for the {b['rules']} rule bitmaps"
                f" (packed bits: {b['rules'] * b['entries'] / 8e6:.2f} MB)"
                if "bytes" in roaring
                else ""
            )
            + ".",
            "",
        ]
    return "\n".join(lines)


def write_doc(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n\n" + section.strip() + "\n\n" + text[end:], encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument(
        "--db", help="DuckDB URL of the synthetic CDM (e.g. duckdb:////work/data/synthetic-1000000.duckdb)"
    )
    parser.add_argument("--label", default="synthetic CDM, 1,000,000 persons (seed 42)")
    parser.add_argument("--postgres", help="PostgreSQL URL holding the 100k synthetic CDM")
    parser.add_argument("--pg-schema", default="synthetic_100000")
    parser.add_argument("--pg-label", default="synthetic CDM, 100,000 persons (seed 42), loaded by `cohortql load`")
    parser.add_argument("--spark-parquet", help="a Parquet CDM directory (cohortql load ... --parquet DIR)")
    parser.add_argument("--spark-label", default="tiny fixture as Parquet")
    parser.add_argument("--spark-cohorts", nargs="*", default=["q7"])
    parser.add_argument("--spark-repeats", type=int, default=3)
    parser.add_argument("--cohorts", nargs="*", default=list(COHORTS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-sweeps", action="store_true")
    parser.add_argument("--bitmaps", action="store_true", help="also time numpy / pyroaring / DuckDB over Arrow")
    parser.add_argument("--bitmap-entries", type=int, default=1_000_000)
    parser.add_argument("--no-help", action="store_true", help="skip timing `cohortql --help`")
    parser.add_argument("--out", type=Path, default=HERE / "whatif_results.json")
    parser.add_argument("--write-docs", action="store_true", help="rewrite the what-if section of docs/performance.md")
    parser.add_argument("--from-results", action="store_true", help="only rewrite the report from --out")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.from_results:
        results = json.loads(args.out.read_text(encoding="utf-8"))
    else:
        import duckdb

        results: dict = {}
        loads = [load()]

        def save() -> None:  # after every section: a run stopped part way keeps what it measured
            every = loads + [
                x
                for engine in ("duckdb", "postgres", "spark")
                if engine in results
                for c in results[engine]["cohorts"].values()
                for x in c.get("load", [])
            ]
            every += results.get("help", {}).get("load", [])
            results["meta"] = {
                "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, DuckDB {duckdb.__version__}",
                "python": platform.python_version(),
                "repeats": args.repeats,
                "load_min": min(every),
                "load_max": max(every),
            }
            args.out.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")

        if args.db:
            results["duckdb"] = engine_runs(args.label, args.db, None, args.cohorts, args.repeats, not args.no_sweeps)
            save()
        if not args.no_help:
            results["help"] = help_runs(9)
            save()
        if args.bitmaps:
            results["bitmaps"] = bitmaps(args.bitmap_entries, 6, 7)
            save()
        if args.postgres:
            results["postgres"] = engine_runs(
                args.pg_label, args.postgres, args.pg_schema, args.cohorts, args.repeats, not args.no_sweeps
            )
            save()
        if args.spark_parquet:
            url = f"spark:///{Path(args.spark_parquet).resolve()}?format=parquet".replace(":////", ":///")
            results["spark"] = engine_runs(args.spark_label, url, None, args.spark_cohorts, args.spark_repeats, False)
        loads.append(load())
        save()
    section = report(results)
    print(section)
    if args.write_docs:
        write_doc(ROOT / "docs" / "performance.md", section)


if __name__ == "__main__":
    main()
