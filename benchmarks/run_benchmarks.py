"""Run the example cohorts at 100k and 1M persons against OHDSI Circe's SQL and a scan floor; write docs/performance.md.

    python benchmarks/run_benchmarks.py                  # everything: 8-20 minutes on 2 cores
    python benchmarks/run_benchmarks.py --scales 100000 --repeats 3 --no-postgres   # a quick look

Datasets (built on first use, kept in --data):
- synthetic CDM (`cohortql.fixtures.synthetic`, seed 42) at each scale, for q7-q9, the questions
  that need lab values and sites; its generation is timed by `generate_speed.py`;
- Eunomia replicated round(scale / 2,694) times (`cohortql.fixtures.scale_eunomia`), for q1-q6,
  real-shaped data whose answers are exactly the copies times Eunomia's;
- the Eunomia demo CDM itself (2,694 persons), for the whole-process runs against DuckCDM;
- with PostgreSQL reachable (`--postgres URL`, default the local server): the 100k synthetic
  CDM loaded by `cohortql load` into database `cohortql_bench`, for q7-q9.

Every (dataset, cohort, method) runs in its own process (`harness.py`): one warm-up run, then
`--repeats` timed runs (`--circe-repeats` for Circe); medians are reported. The two ratios come
from the same run of this script: Circe / ours (above 1: we are faster) and ours / floor. The
final counts of ours and Circe are compared; a difference is reported in the table.

The measured section of docs/performance.md (between its `measured` markers) is replaced; the
text around it is kept. Raw numbers go to benchmarks/results.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import whole_process

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
EUNOMIA_PERSONS = 2694
SYNTHETIC = {"q7": "q7_type2_diabetes_trial", "q8": "q8_heart_failure", "q9": "q9_breast_cancer_chemo"}
EUNOMIA = {
    "q1": "q1_gi_bleed_nsaid", "q2": "q2_recurrent_uti", "q3": "q3_new_af_warfarin",
    "q4": "q4_coronary_events", "q5": "q5_anemia_hemoglobin", "q6": "q6_long_sinusitis",
}
BEGIN, END = "<!-- measured: begin (written by benchmarks/run_benchmarks.py) -->", "<!-- measured: end -->"
POSTGRES_DATABASE = "cohortql_bench"


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def run_json(args: list[str]) -> dict:
    done = subprocess.run([PYTHON, *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# datasets --------------------------------------------------------------------------------------

def synthetic_dataset(data: Path, persons: int) -> tuple[Path, dict]:
    path = data / f"synthetic-{persons}-seed42.duckdb"
    sidecar = path.with_suffix(".generation.json")
    if not path.exists() or not sidecar.exists():
        log(f"generating {persons:,} synthetic persons")
        stats = run_json([str(HERE / "generate_speed.py"), "--persons", str(persons), "--out", str(path)])
        sidecar.write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return path, json.loads(sidecar.read_text(encoding="utf-8"))


def eunomia_dataset(data: Path, copies: int) -> Path:
    path = data / f"eunomia-x{copies}.duckdb"
    if not path.exists():
        log(f"replicating Eunomia x{copies}")  # in a child process: this one stays small (see harness.peak_rss_mb)
        subprocess.run([PYTHON, "-m", "cohortql.fixtures.scale_eunomia", "--copies", str(copies), "--out", str(path)],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return path


def prepare_circe(url: str, circe_db: str, schema: str | None = None) -> None:
    """Create the tables Circe writes its cohort and statistics into."""
    subprocess.run([PYTHON, str(HERE / "harness.py"), "prepare-circe", "-", url, "--circe-db", circe_db,
                    *(["--cdm-schema", schema] if schema else [])], check=True, cwd=ROOT)


def circe_copy(path: Path) -> Path:
    """A writable copy of a DuckDB CDM for Circe, which writes tables."""
    copy = path.with_name(path.stem + ".circe.duckdb")
    if not copy.exists() or copy.stat().st_mtime < path.stat().st_mtime:
        shutil.copyfile(path, copy)
    prepare_circe(f"duckdb:///{path}", str(copy))
    return copy


def postgres_dataset(admin_url: str, duckdb_file: Path, persons: int) -> tuple[str, str] | None:
    """(URL of the benchmark database, schema) holding the synthetic CDM, loaded once with `cohortql load`."""
    try:
        import sqlalchemy as sa

        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as connection:
            exists = connection.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %(name)s", {"name": POSTGRES_DATABASE}
            ).fetchall()
            if not exists:
                connection.exec_driver_sql(f'CREATE DATABASE "{POSTGRES_DATABASE}"')
    except Exception as error:  # noqa: BLE001 - any failure means: no PostgreSQL row
        log(f"PostgreSQL not used: {error.__class__.__name__}: {str(error).splitlines()[0]}")
        return None
    url = sa.engine.make_url(admin_url).set(database=POSTGRES_DATABASE).render_as_string(hide_password=False)
    schema = f"synthetic_{persons}"
    bench = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with bench.connect() as connection:
        loaded = connection.exec_driver_sql(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %(s)s AND table_name = 'drug_era'",
            {"s": schema},
        ).scalar()
    if not loaded:
        log(f"loading {duckdb_file.name} into PostgreSQL schema {schema} (cohortql load)")
        cli = Path(PYTHON).with_name("cohortql")
        done = subprocess.run([str(cli), "load", str(duckdb_file), "--db", url, "--schema", schema, "--replace"],
                              cwd=ROOT)
        if done.returncode != 0:
            log("PostgreSQL not used: `cohortql load` failed")
            return None
    return url, schema


def postgres_row_note(rows: list[dict]) -> str:
    at = [r for r in rows if r["engine"] == "postgres"]
    if not at:
        return "PostgreSQL: not measured in this run."
    return (f"PostgreSQL {at[0]['persons']:,}: database `{POSTGRES_DATABASE}`, loaded by `cohortql load` (COPY,"
            " indexes, ANALYZE); its server's memory is not in the peak column.")


# measuring -------------------------------------------------------------------------------------

def measure(dataset: dict, question: str, cohort: str, repeats: int, circe_repeats: int) -> dict:
    file = ROOT / "examples" / f"{cohort}.cohort"
    circe_dir = HERE / "circe" if question in SYNTHETIC else ROOT / "tests" / "reference" / "circe"
    circe_json = circe_dir / f"{question}.json"
    common = [str(file), dataset["url"]] + (["--cdm-schema", dataset["schema"]] if dataset.get("schema") else [])
    row = {"dataset": dataset["name"], "engine": dataset["engine"], "persons": dataset["persons"],
           "scale": dataset["scale"], "question": question}
    for method, count in [("ours", repeats), ("floor", repeats), ("circe", circe_repeats)]:
        extra = ["--circe-json", str(circe_json), "--circe-db", dataset["circe_db"]] if method == "circe" else []
        log(f"{dataset['name']} {question} {method}")
        row[method] = run_json([str(HERE / "harness.py"), method, *common, *extra, "--repeats", str(count)])
    return row


def save(started, args, postgres_note, generations, rows, whole) -> None:
    (HERE / "results.json").write_text(json.dumps({
        "started": started, "repeats": args.repeats, "circe_repeats": args.circe_repeats,
        "postgres_note": postgres_note, "generations": generations, "rows": rows, "whole_process": whole,
    }, indent=1, default=str) + "\n")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# the document ----------------------------------------------------------------------------------

def _fmt(seconds: float) -> str:
    return f"{seconds:.2f}" if seconds < 10 else f"{seconds:.1f}"


def table(rows: list[dict]) -> str:
    lines = [
        "| data | engine | persons | cohort | final | ours total s (execute / protect) | Circe s | floor s"
        " | Circe / ours | ours / floor | execute-only: Circe / ours, ours / floor | CPU s ours / Circe / floor"
        " | CPU: Circe / ours, ours / floor | peak MB ours / Circe |",
        "|---|---|---:|---|---:|---|---:|---:|---:|---:|---|---|---|---|",
    ]
    for row in rows:
        ours, circe, floor = row["ours"], row["circe"], row["floor"]
        total, cfloor, ccirce = median(ours["walls"]), median(floor["walls"]), median(circe["walls"])
        execute, protect = median(ours["phases"]["execute"]), median(ours["phases"]["protect"])
        final = f"{ours['final']:,}"
        if ours["final"] != circe["final"]:
            final += f" (Circe {circe['final']:,})"
        lines.append(
            f"| {row['dataset']} | {row['engine']} | {row['persons']:,} | {row['question']} | {final}"
            f" | {_fmt(total)} ({_fmt(execute)} / {_fmt(protect)}) | {_fmt(ccirce)} | {_fmt(cfloor)}"
            f" | {ccirce / total:.2f} | {total / cfloor:.1f} | {ccirce / execute:.2f}, {execute / cfloor:.1f}"
            f" | {cpu_cell(row)} | {ours['peak_rss_mb']:.0f} / {circe['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def cpu_cell(row: dict) -> str:
    """CPU seconds of each process, and their ratios: stable when other jobs share the cores.

    Only meaningful where the whole job runs in the measuring process (DuckDB); on PostgreSQL the
    server does the work, so only ours (protection, in Python) is shown."""
    ours, circe, floor = (median(row[m]["cpus"]) for m in ("ours", "circe", "floor"))
    if row["engine"] != "duckdb":
        return f"{_fmt(ours)} / - / - | -"
    return f"{_fmt(ours)} / {_fmt(circe)} / {_fmt(floor)} | {circe / ours:.2f}, {ours / floor:.1f}"


def scale_of(row: dict) -> int:
    """The scale a dataset was built for: Eunomia x371 (999,474 persons) belongs to 1,000,000."""
    return row.get("scale") or int(float(f"{row['persons']:.1g}"))


def targets(rows: list[dict]) -> str:
    """The issue's targets, on the largest DuckDB scale (synthetic and replicated Eunomia)."""
    duck = [r for r in rows if r["engine"] == "duckdb"]
    if not duck:
        return ""
    largest = max(scale_of(r) for r in duck)
    at = [r for r in duck if scale_of(r) == largest]
    speed = [median(r["circe"]["walls"]) / median(r["ours"]["walls"]) for r in at]
    floor = [median(r["ours"]["walls"]) / median(r["floor"]["walls"]) for r in at]
    speed_sql = [median(r["circe"]["walls"]) / median(r["ours"]["phases"]["execute"]) for r in at]
    floor_sql = [median(r["ours"]["phases"]["execute"]) / median(r["floor"]["walls"]) for r in at]
    peak = max(r["ours"]["peak_rss_mb"] for r in at)
    speed_cpu = [median(r["circe"]["cpus"]) / median(r["ours"]["cpus"]) for r in at]
    floor_cpu = [median(r["ours"]["cpus"]) / median(r["floor"]["cpus"]) for r in at]

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    return "\n".join([
        f"Targets at {largest:,} persons (DuckDB, {os.cpu_count()} cores), over the {len(at)} cohorts:",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| full answer >= 3x faster than Circe's SQL with statistics | wall {min(speed):.2f}x to {max(speed):.2f}x"
        f" (execute stage alone: {min(speed_sql):.2f}x to {max(speed_sql):.2f}x); CPU {min(speed_cpu):.2f}x to"
        f" {max(speed_cpu):.2f}x | {verdict(min(speed) >= 3)} |",
        f"| full answer within 3x of the floor | wall {min(floor):.1f}x to {max(floor):.1f}x"
        f" (execute stage alone: {min(floor_sql):.1f}x to {max(floor_sql):.1f}x); CPU {min(floor_cpu):.1f}x to"
        f" {max(floor_cpu):.1f}x | {verdict(max(floor) <= 3)} |",
        f"| peak memory < 2 GB | {peak:,.0f} MB (process peak, DuckDB in process) | {verdict(peak < 2048)} |",
    ])


def generation_lines(generations: list[dict]) -> str:
    lines = ["| persons | wall s | CPU s | peak MB | DuckDB file MB | rows (all tables) | load average |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for g in generations:
        rows = sum(g.get("rows", {}).values())
        lines.append(f"| {g['persons']:,} | {g['wall_seconds']} | {g['cpu_seconds']} | {g['peak_rss_mb']:,}"
                     f" | {g.get('file_mb', '')} | {rows:,} | {g.get('load_average_1min', '')} |")
    return "\n".join(lines)


def whole_process_lines(rows: list[dict]) -> str:
    if not rows:
        return "Whole process against DuckCDM: not measured in this run (`--no-duckcdm`)."
    return "\n".join([
        f"`cohortql count` and DuckCDM {_version('duckcdm')}'s cohort generation with inclusion statistics, each run"
        " a new process (imports included), paired and alternating, medians (`benchmarks/whole_process.py`):",
        "",
        whole_process.table(rows),
    ])


def measured_section(rows: list[dict], generations: list[dict], args, started: str, postgres_note: str,
                     whole: list[dict] | None = None) -> str:
    loads = [row[m]["load_average"] for row in rows for m in ("ours", "circe", "floor") if "load_average" in row[m]]
    load = f"1-minute load average during the runs {min(loads):.1f} to {max(loads):.1f}" if loads else ""
    return "\n".join([
        BEGIN,
        "",
        f"Measured {started} on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" DuckDB {_version('duckdb')}, ohdsi-circepy {_version('ohdsi-circepy')};"
        f" {args.repeats} timed runs ({args.circe_repeats} for Circe) after one warm-up, medians; {load}.",
        "",
        "### Generating the synthetic CDM",
        "",
        generation_lines(generations),
        "",
        "### Cohorts",
        "",
        table(rows),
        "",
        targets(rows),
        "",
        postgres_note,
        "",
        "### Whole process, against DuckCDM",
        "",
        whole_process_lines(whole or []),
        "",
        END,
    ])


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def write_doc(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Performance\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip() + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + section + tail, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--circe-repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=HERE / ".data")
    parser.add_argument("--postgres", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
                        help="admin URL of a PostgreSQL server for the 100k row")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-eunomia", action="store_true", help="skip q1-q6 on replicated Eunomia")
    parser.add_argument("--no-duckcdm", action="store_true", help="skip the whole-process runs against DuckCDM")
    parser.add_argument("--questions", nargs="+", help="only these (q1 .. q9)")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--from-results", action="store_true",
                        help="only rewrite the document from benchmarks/results.json and the generation timings")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    if args.from_results:
        saved = json.loads((HERE / "results.json").read_text(encoding="utf-8"))
        generations = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(
            args.data.glob("synthetic-*-seed42.generation.json"), key=lambda p: int(p.name.split("-")[1]))]
        for key in ("repeats", "circe_repeats"):
            setattr(args, key, saved.get(key, getattr(args, key)))
        note = saved.get("postgres_note") or postgres_row_note(saved["rows"])
        write_doc(args.doc, measured_section(saved["rows"], generations or saved["generations"], args,
                                             saved["started"], note, saved.get("whole_process")))
        return

    wanted = set(args.questions or [*SYNTHETIC, *EUNOMIA])
    datasets, generations = [], []
    for persons in sorted(args.scales):
        path, generation = synthetic_dataset(args.data, persons)
        generations.append(generation)
        datasets.append({"name": "synthetic", "engine": "duckdb", "persons": persons, "scale": persons,
                         "url": f"duckdb:///{path}", "file": path, "questions": SYNTHETIC})
        if not args.no_eunomia:
            copies = max(1, round(persons / EUNOMIA_PERSONS))
            path = eunomia_dataset(args.data, copies)
            datasets.append({"name": f"Eunomia x{copies}", "engine": "duckdb", "persons": copies * EUNOMIA_PERSONS,
                             "scale": persons, "url": f"duckdb:///{path}", "file": path, "questions": EUNOMIA})
    postgres_note = "PostgreSQL: not measured in this run (`--no-postgres`)."
    if not args.no_postgres:
        smallest = min(args.scales)
        loaded = postgres_dataset(args.postgres, args.data / f"synthetic-{smallest}-seed42.duckdb", smallest)
        if loaded:
            url, schema = loaded
            datasets.append({"name": "synthetic", "engine": "postgres", "persons": smallest, "scale": smallest,
                             "url": url, "schema": schema, "questions": SYNTHETIC,
                             "circe_db": url.replace("+psycopg2", "")})
            postgres_note = (f"PostgreSQL {smallest:,}: database `{POSTGRES_DATABASE}`, schema `{schema}`, loaded"
                             " by `cohortql load` (COPY, indexes, ANALYZE); its server's memory is not in the peak"
                             " column.")
        else:
            postgres_note = "PostgreSQL: no server reachable in this run, so no PostgreSQL row."

    rows, whole = [], []
    for dataset in datasets:
        questions = {q: c for q, c in dataset["questions"].items() if q in wanted}
        if not questions:
            continue
        if dataset["engine"] == "duckdb":
            dataset["circe_db"] = str(circe_copy(dataset["file"]))
        else:
            prepare_circe(dataset["url"], dataset["circe_db"], dataset["schema"])
        for question, cohort in questions.items():
            rows.append(measure(dataset, question, cohort, args.repeats, args.circe_repeats))
            save(started, args, postgres_note, generations, rows, whole)
    if not args.no_duckcdm:  # Eunomia itself, then every DuckDB dataset of this run
        eunomia = {"file": whole_process.eunomia_file(), "questions": {**EUNOMIA, **SYNTHETIC}}
        for dataset in [eunomia, *(d for d in datasets if d["engine"] == "duckdb")]:
            copy = whole_process.writable_copy(dataset["file"])
            for question in (q for q in dataset["questions"] if q in wanted):
                log(f"{dataset['file'].name} {question} whole process: ours and DuckCDM")
                whole.append(whole_process.compare(question, dataset["file"], copy, args.repeats))
                save(started, args, postgres_note, generations, rows, whole)
    write_doc(args.doc, measured_section(rows, generations, args, started, postgres_note, whole))
    log(f"wrote {args.doc} and {HERE / 'results.json'}")


if __name__ == "__main__":
    main()
