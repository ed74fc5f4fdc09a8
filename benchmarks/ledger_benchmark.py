"""The release ledger at scale: one new release checked against 1,000 earlier ones on a synthetic CDM.

    python benchmarks/ledger_benchmark.py                      # 100,000 persons, 1,000 earlier releases
    python benchmarks/ledger_benchmark.py --persons 1000000

The earlier releases are what a busy deployment's sponsors ask for: variations of the example
questions q7-q9 (a rule dropped, a time slice of the index year, a breakdown by sex, age5, age10 or
year), each protected on its own, or with --ledger each checked against the ones before it. Their
person memberships come once per base question from the cohort query (one row per person, as
`cohortql/governance/release_check.py` reads them); the variations are derived in this process, as a
per-rule truth-vector cache would serve them. Measured: the seconds to check one more variation
against all of them (`check_release`: atoms, the intruder's programs, complementary suppression
against the ledger), its CPU time and number of solves (both steadier than seconds on a shared
machine), and what the check found. Writes JSON to standard output (and --out).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
from run_benchmarks import SYNTHETIC, synthetic_dataset  # noqa: E402

from cohortql import pipeline  # noqa: E402
from cohortql.execute.target import resolve_target  # noqa: E402
from cohortql.governance.release_check import PersonRows, QueryMemberships, protect_rows  # noqa: E402
from cohortql.protect import DisclosurePolicy, ledger  # noqa: E402
from cohortql.protect.ledger import check_release  # noqa: E402

STRATA = ("sex", "age5", "age10", "year")
BREAKDOWNS = ((), ("sex",), ("age5",), ("age10",), ("year",))


def variation(base: PersonRows, rng: np.random.Generator) -> tuple[PersonRows, tuple[str, ...]]:
    """A question one step from a base one: maybe a rule dropped, maybe an index-year slice, a breakdown."""
    keep = list(range(len(base.rule_names)))
    if keep and rng.random() < 0.5:
        keep.pop(int(rng.integers(len(keep))))
    years = sorted({v[STRATA.index("year")] for v in base.values})
    last_year = years[int(rng.integers(len(years)))] if years and rng.random() < 0.5 else None
    by = BREAKDOWNS[int(rng.integers(len(BREAKDOWNS)))]
    chosen = [i for i, v in enumerate(base.values) if last_year is None or v[STRATA.index("year")] <= last_year]
    masks = np.zeros(len(chosen), dtype=np.int64)
    for bit, rule in enumerate(keep):
        masks |= ((base.masks[chosen] >> rule) & 1) << bit
    positions = [STRATA.index(name) for name in by]
    values = tuple(tuple(base.values[i][p] for p in positions) for i in chosen)
    rows = PersonRows(tuple(base.rule_names[i] for i in keep), by, base.persons[chosen], masks, values,
                      base.entries[chosen])
    return rows, by


def _count_solves() -> list[int]:
    """Count the ledger's HiGHS solves from here on (the work the check does, whatever the load)."""
    solves = [0]
    solve = ledger._Program.solve

    def counted(self, objective, bounds):
        solves[0] += 1
        return solve(self, objective, bounds)

    ledger._Program.solve = counted
    return solves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=HERE / ".data")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--ledger", action="store_true",
                        help="check each earlier release against the ones before it, as a deployment does "
                             "(default: each protected alone, which leaves the ledger already leaking)")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    path, _stats = synthetic_dataset(args.data, args.persons)
    target = resolve_target(f"duckdb:///{path}")
    policy = DisclosurePolicy()

    started = time.perf_counter()
    bases = []
    for name in SYNTHETIC.values():
        compiled = pipeline.compile_source(pipeline.read_source(ROOT / "examples" / f"{name}.cohort"))
        bases.append(QueryMemberships().person_rows(compiled, target, STRATA))
    memberships_seconds = time.perf_counter() - started

    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    solves = _count_solves()
    earlier, refused_earlier, hidden_earlier = [], 0, 0
    while len(earlier) < args.releases:
        rows, by = variation(bases[int(rng.integers(len(bases)))], rng)
        if len(rows.persons):
            checked, release = protect_rows(rows, policy, earlier if args.ledger else [],
                                            label=f"release {len(earlier) + 1}",
                                            rule_kinds=("include",) * len(rows.rule_names), dimensions=by)
            if checked.verdict.ok:
                earlier.append(release)
                hidden_earlier += len(checked.verdict.hide)
            else:
                refused_earlier += 1
    ledger_seconds = time.perf_counter() - started
    building_solves = solves[0]

    rows, by = variation(bases[0], rng)
    checked, new = protect_rows(rows, policy, [], label="new release",
                                rule_kinds=("include",) * len(rows.rule_names), dimensions=by)
    solves[0] = 0
    started, cpu = time.perf_counter(), time.process_time()
    verdict = check_release(new, earlier, policy)
    check_seconds, check_cpu = time.perf_counter() - started, time.process_time() - cpu
    report = {
        "persons": args.persons,
        "earlier_releases": len(earlier),
        "earlier_cells": sum(len(r.cells) for r in earlier),
        "earlier_releases_checked_against_the_ledger": args.ledger,
        "earlier_releases_refused": refused_earlier,
        "earlier_cells_hidden_against_the_ledger": hidden_earlier,
        "base_questions": [f"{name}: {len(b.persons):,} persons at entry" for name, b in zip(SYNTHETIC, bases,
                                                                                              strict=True)],
        "new_release": {"breakdown": list(by), "cells": len(new.cells), "persons": int(len(new.persons))},
        "interacting_releases": len(verdict.interacting),
        "hidden_against_the_ledger": sorted(verdict.hide),
        "refused": list(verdict.problems),
        "narrowed_by_the_earlier_releases_alone": len(verdict.narrowed_before),
        "linear_programs_solved": solves[0],  # repeatable, unlike seconds on a shared machine
        "linear_programs_solved_protecting_the_earlier_releases": building_solves,
        "seconds": {"memberships_of_the_base_questions": round(memberships_seconds, 2),
                    "protecting_the_earlier_releases": round(ledger_seconds, 2),
                    "ledger_check": round(check_seconds, 2),
                    "ledger_check_cpu": round(check_cpu, 2)},  # steadier than wall time on a shared machine
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
