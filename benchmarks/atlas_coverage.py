"""Coverage of the OHDSI PhenotypeLibrary by `cohortql import`, and count agreement with Circe on Eunomia.

    python benchmarks/atlas_coverage.py DIR     # DIR holds inst/cohorts/*.json of OHDSI/PhenotypeLibrary

For every definition: does it import (else the unsupported features, by name); for the ones
that import, cohortql's persons per inclusion-rule mask on the Eunomia demo CDM, and, where
they find anyone, the same numbers from Circe's own SQL (ohdsi-circepy) on a copy of the same
database. Writes the table between the `coverage` markers of docs/atlas.md and prints it.
About 4 minutes on 2 cores for the library's 1,100 definitions.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cohortql.atlas import AtlasError, import_circe  # noqa: E402
from cohortql.execute.eunomia import eunomia_cdm_path  # noqa: E402
from cohortql.execute.target import resolve_target  # noqa: E402
from tests.reference.circe_agreement import CirceDatabase, cohortql_masks  # noqa: E402

BEGIN, END = "<!-- coverage: begin -->", "<!-- coverage: end -->"


def feature(problem) -> str:
    """A problem's feature without its numbers: `not supported yet: RangeLow on Measurement`."""
    return re.sub(r"\d+", "N", problem.message)


def census(paths: list[Path]) -> dict:
    target = resolve_target(f"duckdb:///{eunomia_cdm_path()}")
    imported, rejected, blockers, sole = {}, 0, collections.Counter(), collections.Counter()
    for path in paths:
        text = path.read_text(encoding="utf-8")
        try:
            result = import_circe(text, str(path))
        except AtlasError as error:
            rejected += 1
            features = {feature(p) for p in error.problems}
            blockers.update(features)
            if len(features) == 1:
                sole.update(features)
            continue
        imported[path] = (text, cohortql_masks(result.text, path.name, target))
    agree, differ, agreeing = 0, [], []
    with tempfile.TemporaryDirectory() as tmp:
        circe = CirceDatabase(eunomia_cdm_path(), Path(tmp))
        finding = {path: v for path, v in imported.items() if sum(v[1].values())}
        for path, (text, ours) in finding.items():
            if circe.masks(text) == ours:
                agree += 1
                agreeing.append(path.name)
            else:
                differ.append(path.name)
        circe.close()
    return {"total": len(paths), "imported": len(imported), "rejected": rejected, "finding": len(finding),
            "agree": agree, "differ": differ, "agreeing": agreeing, "blockers": blockers, "sole": sole}  # fmt: skip


def table(result: dict) -> str:
    total = result["total"]
    lines = [
        "| | definitions | share |",
        "|---|---|---|",
        f"| in the library | {total} | 100% |",
        f"| imported | {result['imported']} | {100 * result['imported'] / total:.1f}% |",
        f"| rejected (an unsupported feature, named with its JSON path) | {result['rejected']} |"
        f" {100 * result['rejected'] / total:.1f}% |",
        f"| imported and finding persons on Eunomia | {result['finding']} | |",
        f"| ... with Circe's persons per rule mask, identical | {result['agree']} of {result['finding']} | |",
        "",
        "| rejected for (a definition can have several) | definitions | only this |",
        "|---|---|---|",
    ]
    for name, n in result["blockers"].most_common():
        lines.append(f"| {name.removeprefix('not supported yet: ')} | {n} | {result['sole'][name]} |")
    if result["differ"]:
        lines.append("")
        lines.append("Counts differ for: " + ", ".join(result["differ"]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", type=Path, help="directory of PhenotypeLibrary cohort JSON files")
    parser.add_argument("--agreeing", type=Path, help="also write the names of the files counted like Circe here")
    args = parser.parse_args()
    paths = sorted(args.library.glob("*.json"), key=lambda p: (len(p.stem), p.stem))
    result = census(paths)
    if args.agreeing:
        args.agreeing.write_text("\n".join(result["agreeing"]) + "\n", encoding="utf-8")
    text = table(result)
    print(text)
    doc = REPO / "docs" / "atlas.md"
    old = doc.read_text(encoding="utf-8")
    start, end = old.index(BEGIN) + len(BEGIN), old.index(END)
    doc.write_text(old[:start] + "\n" + text + "\n" + old[end:], encoding="utf-8")


if __name__ == "__main__":
    main()
