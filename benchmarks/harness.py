"""One measurement in a fresh process: one cohort, one method, one database; prints one JSON line.

    python benchmarks/harness.py METHOD COHORT_FILE DB_URL [--cdm-schema S] [--circe-json F]
                                 [--circe-db URL] [--repeats N]

Methods (all on the same database, DuckDB or PostgreSQL):
- `ours`: the full answer of cohortql, `pipeline.run` as `cohortql count --by A --by B` runs it:
  render -> transpile -> execute (the one-pass query with the definition's two-way breakdown, or
  sex x age10 when it has none; the site list for site breakdowns) -> protect (attrition, gains
  and the breakdown table with its margins and site-group subtotals, small-cell suppression, all
  decided together). A new database connection per run, as `cohortql count` opens one.
- `circe`: the SQL OHDSI's reference implementation (ohdsi-circepy) builds for the same cohort
  as Circe JSON, with its inclusion-rule statistics (`generate_stats`), rendered and translated
  by circepy's own SqlRender port; every statement of the script, on a writable copy (Circe
  writes its cohort and statistics tables).
- `floor`: one statement scanning each table the cohort reads once, filtered to the cohort's
  resolved concepts (event tables) or not filtered (person, observation_period), reading the
  columns the cohort needs. Concept sets are resolved before timing.

Each method runs once to warm up (caches, connection pools), then `--repeats` timed runs. The
JSON line holds the wall and CPU seconds of every timed run, the process's peak resident memory
(MB, DuckDB runs inside this process; a PostgreSQL server's own memory is not included), and the
final count, so callers can check that the methods agree.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # cohortql and tests.reference.run_circe

from cohortql import pipeline  # noqa: E402
from cohortql.execute.target import resolve_target  # noqa: E402
from cohortql.omop import DOMAINS  # noqa: E402
from cohortql.protect import DisclosurePolicy  # noqa: E402
from cohortql.protect.protector import attrition_counts  # noqa: E402

DEFAULT_BREAKDOWN = ("sex", "age10")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM). Not ru_maxrss: Linux carries that across exec,
    so a child would report its parent's peak."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the best there is


def timed(run, repeats: int) -> tuple[list[float], list[float], object]:
    result = run()  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), _cpu()
        result = run()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return walls, cpus, result


# ours ------------------------------------------------------------------------------------------

def breakdown_of(compiled: pipeline.Compiled) -> tuple[str, ...]:
    return tuple(compiled.plan.breakdown[:2]) if len(compiled.plan.breakdown) >= 2 else DEFAULT_BREAKDOWN


class StageTimer:
    """Times the stages `pipeline.run` calls, by wrapping the functions it imports (instrumentation only).

    `pipeline.run` imports each stage when called, so wrapping the attribute of its module is enough.
    """

    STAGES = {
        ("cohortql.render", "render"): "render",
        ("cohortql.execute.runner", "run_cohort"): "execute",
        ("cohortql.execute.runner", "run_site_catalogue"): "execute",
        ("cohortql.protect", "protect"): "protect",
    }

    def __init__(self):
        self.current: dict[str, float] = {}
        self.raw = None
        for (module_name, name), stage in self.STAGES.items():
            module = importlib.import_module(module_name)
            setattr(module, name, self._wrap(getattr(module, name), stage, keep=name == "run_cohort"))

    def _wrap(self, function, stage: str, keep: bool):
        def timed_call(*args, **kwargs):
            start = time.perf_counter()
            try:
                result = function(*args, **kwargs)
            finally:
                self.current[stage] = self.current.get(stage, 0.0) + time.perf_counter() - start
            if keep:
                self.raw = result
            return result

        return timed_call


def full_answer(compiled: pipeline.Compiled, target, timer: StageTimer, phases: dict[str, list[float]]):
    """What `cohortql count` computes: `pipeline.run` with a two-way breakdown (attrition, gains, the
    breakdown table with site-group subtotals where sites are involved, all protected together).

    Appends the seconds of each stage to `phases`; returns the true final count (to compare with Circe).
    """
    timer.current = {}
    pipeline.run(compiled, target, DisclosurePolicy(), by=breakdown_of(compiled))
    for stage in ("render", "execute", "protect"):
        phases.setdefault(stage, []).append(timer.current.get(stage, 0.0))
    return attrition_counts(timer.raw)[-1]


# floor -----------------------------------------------------------------------------------------

def _events(test):
    if getattr(test, "event", None) is not None:
        yield test.event
    for child in getattr(test, "children", ()):
        yield from _events(child)
    if getattr(test, "child", None) is not None:
        yield from _events(test.child)


def floor_sql(compiled: pipeline.Compiled, target) -> str:
    """One statement: each table the cohort reads, scanned once, filtered to the cohort's concepts."""
    plan = compiled.plan
    concepts = {
        codeset.id: [int(row[0]) for row in rows] for codeset, rows in pipeline.concept_report(compiled, target)
    }
    events = [*plan.entry.events, *(e for rule in plan.rules for e in _events(rule.test))]
    prefix = f'"{target.cdm_schema}".' if target.cdm_schema else ""
    by_table: dict[str, set[int]] = {}
    visit_types: set[int] = set()
    for event in events:
        ids = by_table.setdefault(event.domain, set())
        ids.update(concepts.get(event.codeset_id, []) if event.codeset_id is not None else [])
        visit_types.update(event.visit_concept_ids)
    parts = []
    for domain, ids in sorted(by_table.items()):
        table = DOMAINS[domain]
        value = "sum(value_as_number) + sum(unit_concept_id)" if table.has_value else "0"
        wanted = ", ".join(str(i) for i in sorted(ids)) or "NULL"
        parts.append(
            f"SELECT count(*) AS n, sum(person_id) AS s, max({table.start_date}) AS d, {value} AS v"
            f" FROM {prefix}{table.table} WHERE {table.concept_id} IN ({wanted})"
        )
    if visit_types:
        wanted = ", ".join(str(i) for i in sorted(visit_types))
        parts.append(
            "SELECT count(*), sum(visit_occurrence_id), max(visit_start_date), 0"
            f" FROM {prefix}visit_occurrence WHERE visit_concept_id IN ({wanted})"
        )
    parts.append(
        "SELECT count(*), sum(person_id), max(observation_period_end_date), 0"
        f" FROM {prefix}observation_period WHERE observation_period_start_date IS NOT NULL"
    )
    parts.append(f"SELECT count(*), sum(person_id), NULL, sum(year_of_birth + gender_concept_id) FROM {prefix}person")
    return "\nUNION ALL\n".join(parts)


def run_floor(compiled, target, repeats):
    """A new connection per run, as for the other methods (DuckDB then starts with a cold buffer pool)."""
    from cohortql.execute.cancel import Cancellable
    from cohortql.execute.runner import engine_for
    from cohortql.render import SqlStatement

    statement = SqlStatement(floor_sql(compiled, target), reads_concept_sets=False)
    engine = engine_for(target)

    def run():
        with engine.connect(target, Cancellable()) as session:  # as cohortql connects (DuckDB: read-only)
            session.start_reading()
            return session.fetch(statement)

    return timed(run, repeats)


# circe -----------------------------------------------------------------------------------------

def run_circe(expression_path: Path, circe_url: str, cdm_schema: str | None, dialect: str, repeats: int):
    from circe.api import build_cohort_query, cohort_expression_from_json
    from circe.cohortdefinition import BuildExpressionQueryOptions
    from circe.sqlrender import render as render_ohdsi
    from circe.sqlrender import split_sql, translate

    text = expression_path.read_text(encoding="utf-8")
    rules = [rule["name"] for rule in json.loads(text)["InclusionRules"]]
    options = BuildExpressionQueryOptions()
    options.cdm_schema = cdm_schema or "main"
    options.vocabulary_schema = cdm_schema or "main"
    options.result_schema = "results"
    options.target_table = "cohort"
    options.cohort_id = 1
    options.generate_stats = True
    sql = translate(render_ohdsi(build_cohort_query(cohort_expression_from_json(text), options)),
                    "duckdb" if dialect == "duckdb" else "postgresql")
    statements = [s for s in split_sql(sql) if s.strip()]
    masks_sql = ("SELECT inclusion_rule_mask, person_count FROM results.cohort_inclusion_result"
                 " WHERE cohort_definition_id = 1 AND mode_id = 1")

    def run():
        """A new connection per run, like the other methods; returns Circe's final count (person mode)."""
        if dialect == "duckdb":
            import duckdb

            con = duckdb.connect(circe_url)
            try:
                for statement in statements:
                    con.execute(statement)
                masks = con.execute(masks_sql).fetchall()
            finally:
                con.close()
        else:
            import psycopg2

            con = psycopg2.connect(circe_url)
            try:
                con.autocommit = True
                cursor = con.cursor()
                cursor.execute(f'SET search_path TO results, "{cdm_schema}"')
                for statement in statements:
                    cursor.execute(statement)
                cursor.execute(masks_sql)
                masks = cursor.fetchall()
            finally:
                con.close()
        full = (1 << len(rules)) - 1
        return sum(n for mask, n in masks if mask & full == full)

    return timed(run, repeats)


def prepare_circe_tables(circe_url: str, dialect: str) -> None:
    """The tables Circe writes into (it creates none itself), as in tests/reference/run_circe.py."""
    from tests.reference.run_circe import RESULT_TABLES

    if dialect == "duckdb":
        import duckdb

        con = duckdb.connect(circe_url)
        execute = con.execute
    else:
        import psycopg2

        con = psycopg2.connect(circe_url)
        con.autocommit = True
        execute = con.cursor().execute
        execute("DROP SCHEMA IF EXISTS results CASCADE")
    try:
        # Circe writes its cohort table unqualified: main.cohort in DuckDB, the search path's first schema
        # (results) in PostgreSQL.
        cohort_schema = "main" if dialect == "duckdb" else "results"
        execute("CREATE SCHEMA IF NOT EXISTS results")
        for statement in RESULT_TABLES:
            if statement.startswith("CREATE SCHEMA"):
                continue
            statement = statement.replace(
                "CREATE TABLE main.cohort", f"CREATE TABLE IF NOT EXISTS {cohort_schema}.cohort"
            )
            statement = statement.replace("CREATE TABLE results.", "CREATE TABLE IF NOT EXISTS results.")
            execute(statement)
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("method", choices=["ours", "circe", "floor", "prepare-circe"])
    parser.add_argument("cohort", type=Path)
    parser.add_argument("db")
    parser.add_argument("--cdm-schema")
    parser.add_argument("--circe-json", type=Path)
    parser.add_argument("--circe-db", help="writable database for Circe (DuckDB path or PostgreSQL DSN)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    target = resolve_target(args.db, args.cdm_schema)
    if args.method == "prepare-circe":
        prepare_circe_tables(args.circe_db, target.dialect)
        return
    compiled = pipeline.compile_source(pipeline.read_source(args.cohort))
    phases: dict[str, list[float]] = {}
    if args.method == "ours":
        timer = StageTimer()
        walls, cpus, final = timed(lambda: full_answer(compiled, target, timer, phases), args.repeats)
        phases = {name: seconds[1:] for name, seconds in phases.items()}  # without the warm-up
    elif args.method == "floor":
        walls, cpus, _ = run_floor(compiled, target, args.repeats)
        final = None
    else:
        walls, cpus, final = run_circe(args.circe_json, args.circe_db, args.cdm_schema, target.dialect, args.repeats)
    print(json.dumps({
        "method": args.method, "cohort": args.cohort.stem, "walls": walls, "cpus": cpus, "phases": phases,
        "peak_rss_mb": round(peak_rss_mb(), 1), "final": final, "load_average": round(os.getloadavg()[0], 1),
    }))


if __name__ == "__main__":
    main()
