"""Protection before and after the flow network: counts hidden and seconds, on every example.

    python benchmarks/protection.py                       # q1-q9 at 100k (+ q1-q6 on Eunomia itself)
    python benchmarks/protection.py --persons 1000000 --synthetic-only --out benchmarks/protection_results_1m

For each example cohort with the benchmark's two-way breakdown (harness.breakdown_of: the
definition's own, else sex x age10) the raw counts are fetched once, then the same artifact is
decided twice in this process: by the linear program alone (`decide(artifact, policy)`, how
every count was judged before the network) and as `protect` decides it now (the breakdown table
on its flow network when the final count is released). Reported per example: the counts shown
as `<k` and `>=k` (every place a number appears: the final count is also the table's total),
whether the two decisions are identical, and the CPU seconds of each decision (medians of
--repeats). Datasets: the synthetic CDM for q7-q9 and replicated Eunomia for q1-q6 (as
run_benchmarks.py builds them, in --data), and q1-q6 on the Eunomia demo CDM itself, whose
2,694 persons give small cells. Writes benchmarks/protection_results.md (a table) and .json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from harness import breakdown_of  # noqa: E402
from run_benchmarks import EUNOMIA, EUNOMIA_PERSONS, SYNTHETIC, eunomia_dataset, synthetic_dataset  # noqa: E402

from cohortql import pipeline  # noqa: E402
from cohortql.execute.runner import run_cohort, run_site_catalogue  # noqa: E402
from cohortql.execute.target import resolve_target  # noqa: E402
from cohortql.protect import DisclosurePolicy  # noqa: E402
from cohortql.protect.artifact import Status  # noqa: E402
from cohortql.protect.network import ReleaseNetworks  # noqa: E402
from cohortql.protect.protector import build_artifact  # noqa: E402
from cohortql.protect.strata import breakdown_inputs  # noqa: E402
from cohortql.protect.suppression import decide  # noqa: E402
from cohortql.render import render  # noqa: E402
from cohortql.render.strata import strata_for  # noqa: E402


def artifact_of(cohort: str, db: str | None):
    """The artifact `cohortql count --by A --by B` protects, and the cube of its table."""
    target = resolve_target(db)
    compiled = pipeline.compile_source(pipeline.read_source(ROOT / "examples" / f"{cohort}.cohort"))
    dimensions = breakdown_of(compiled)
    rendered = render(compiled.plan, target.cdm_schema, target.vocab_schema, strata_for(dimensions))
    raw = run_cohort(rendered, target)
    catalogue = run_site_catalogue(rendered, target) if "site" in raw.strata else []
    breakdowns, hierarchies, values = breakdown_inputs(dimensions, raw, catalogue)
    return (*build_artifact(raw, breakdowns, hierarchies, values), dimensions)


def hidden(artifact, statuses) -> dict[str, int]:
    places = {"primary": 0, "complementary": 0}
    for quantity, status in zip(artifact.quantities, statuses, strict=True):
        if status in (Status.PRIMARY, Status.COMPLEMENTARY):
            places[status.value] += len(quantity.keys)
    return places


def timed(decision, repeats: int):
    seconds, statuses = [], None
    for _ in range(repeats):
        start = time.process_time()
        statuses = decision()
        seconds.append(time.process_time() - start)
    return statuses, statistics.median(seconds)


def compare(data: str, question: str, cohort: str, db: str | None, repeats: int) -> dict:
    artifact, cube, dimensions = artifact_of(cohort, db)
    policy = DisclosurePolicy()
    before, before_s = timed(lambda: decide(artifact, policy), repeats)
    # As protect() decides: the network is built inside the timed part, as it is there.
    after, after_s = timed(lambda: decide(artifact, policy, ReleaseNetworks.of(artifact, cube, policy)), repeats)
    row = {
        "data": data, "question": question, "by": " x ".join(dimensions),
        "shown": sum(q.shown for q in artifact.quantities),
        "before": hidden(artifact, before), "after": hidden(artifact, after), "identical": before == after,
        "network": ReleaseNetworks.of(artifact, cube, policy) is not None,
        "before_cpu_s": round(before_s, 4), "after_cpu_s": round(after_s, 4),
    }
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def markdown(rows: list[dict], args) -> str:
    lines = [
        f"Protection of the examples' two-way breakdowns, {args.persons:,} persons (the synthetic CDM for q7-q9"
        + ("" if args.synthetic_only else ", Eunomia replicated for q1-q6, and the Eunomia demo CDM itself")
        + f"), default policy (k = 10); CPU seconds of the decision, medians of {args.repeats}. Written by"
        " `benchmarks/protection.py`.",
        "",
        "| data | cohort | breakdown | counts shown | `<k` before / after | `>=k` before / after | identical |"
        " LP only, CPU s | network, CPU s |",
        "|---|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['data']} | {r['question']} | {r['by']} | {r['shown']} | {r['before']['primary']} / "
            f"{r['after']['primary']} | {r['before']['complementary']} / {r['after']['complementary']} | "
            f"{'yes' if r['identical'] else 'no'} | {r['before_cpu_s']:.3f} | {r['after_cpu_s']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=HERE / ".data")
    parser.add_argument("--out", type=Path, default=HERE / "protection_results")
    parser.add_argument("--synthetic-only", action="store_true", help="q7-q9 only (no Eunomia datasets)")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    synthetic, _generation = synthetic_dataset(args.data, args.persons)
    rows = [compare("synthetic", q, cohort, f"duckdb:///{synthetic}", args.repeats) for q, cohort in SYNTHETIC.items()]
    if not args.synthetic_only:
        copies = round(args.persons / EUNOMIA_PERSONS)
        replicated = eunomia_dataset(args.data, copies)
        rows += [compare(f"Eunomia x{copies}", q, cohort, f"duckdb:///{replicated}", args.repeats)
                 for q, cohort in EUNOMIA.items()]
        rows += [compare("Eunomia", q, cohort, None, args.repeats) for q, cohort in EUNOMIA.items()]
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(rows, args), encoding="utf-8")


if __name__ == "__main__":
    main()
