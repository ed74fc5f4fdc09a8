"""Turns raw mask counts into a released result: the only way to build a `ProtectedResult`.

Order of operations: build the artifact (every count the release shows or lets one derive),
decide what to hide on true counts (primary, then complementary suppression), and only then
round what is released.
"""

from __future__ import annotations

from collections.abc import Mapping

from cohortql.counts import RawCounts
from cohortql.protect.artifact import Artifact, ArtifactBuilder, Status
from cohortql.protect.attrition import add_attrition, attrition_counts, gain_counts
from cohortql.protect.network import ReleaseNetworks
from cohortql.protect.policy import DisclosurePolicy
from cohortql.protect.result import AttritionStep, Cell, ProtectedResult, ProtectedTable, TableCell, protecting
from cohortql.protect.suppression import decide
from cohortql.protect.tables import Breakdown, FinalCohortCube, Hierarchy, add_breakdowns, cell_key

__all__ = ["attrition_counts", "build_artifact", "decided", "gain_counts", "hidden_further", "protect"]


def build_artifact(
    raw: RawCounts,
    breakdowns: tuple[Breakdown, ...] = (),
    hierarchies: tuple[Hierarchy, ...] = (),
    strata_values: Mapping[str, tuple] | None = None,
) -> tuple[Artifact, FinalCohortCube]:
    """Everything one release contains, as counts over hidden blocks of people."""
    builder = ArtifactBuilder()
    cube = FinalCohortCube(raw, breakdowns, hierarchies, strata_values)
    for key, size in cube.blocks().items():
        builder.block(key, size)
    for first, other in cube.links():
        builder.link(first, other)
    add_attrition(builder, raw, cube.final_blocks())
    add_breakdowns(builder, cube)
    return builder.build(), cube


def _cell(value: int, status: Status, policy: DisclosurePolicy) -> Cell:
    if status is Status.PRIMARY:
        return Cell(None, policy.suppressed_text)
    if status is Status.COMPLEMENTARY:
        return Cell(None, policy.complementary_text)
    shown = policy.release(value)
    return Cell(shown, f"{shown:,}")


def _table(breakdown: Breakdown, cube: FinalCohortCube, cells: dict[str, Cell]) -> ProtectedTable:
    rows = []
    for coords, _blocks in cube.cells(breakdown):
        named = tuple(
            None if level.kind == "total"
            else (name if level.kind == "value" else cube.hierarchies[cube.base(name)].parent, level.value)
            for name, level in zip(breakdown.strata, coords, strict=True)
        )
        margin = any(level.kind != "value" for level in coords)
        rows.append(TableCell(named, margin, cells[cell_key(breakdown, coords)]))
    return ProtectedTable(breakdown.strata, tuple(rows))


def protect(
    raw: RawCounts,
    policy: DisclosurePolicy,
    *,
    rule_kinds: tuple[str, ...],
    title: str | None,
    fingerprint: str,
    database: dict,
    breakdowns: tuple[Breakdown, ...] = (),
    hierarchies: tuple[Hierarchy, ...] = (),
    strata_values: Mapping[str, tuple] | None = None,
    policy_note: str | None = None,
    hide: frozenset[str] = frozenset(),
) -> ProtectedResult:
    """The released answer: every count decided together, on true counts, then rounded.

    `breakdowns` are tables of the final cohort by strata of `raw`; `hierarchies` group a
    stratum's values (sites within site groups); `strata_values` lists every value a stratum
    can take (e.g. all care sites), so that a table shows empty rows too: with zero suppressed,
    a row left out would say that it is empty. `hide` names counts (artifact keys) hidden further,
    against earlier releases (cohortql/protect/ledger.py); hiding a released count only widens
    what an intruder can infer, so this release stays protected on its own.
    """
    artifact, cube = build_artifact(raw, breakdowns, hierarchies, strata_values)
    statuses = hidden_further(artifact, decided(artifact, cube, policy), hide)
    cells = {
        key: _cell(quantity.value, status, policy)
        for quantity, status in zip(artifact.quantities, statuses, strict=True)
        for key in quantity.keys
        if status is not Status.DERIVED
    }
    attrition = [AttritionStep("entry", "entry", cells["attrition/0"], None)]
    for i, (name, kind) in enumerate(zip(raw.rule_names, rule_kinds, strict=True), start=1):
        attrition.append(AttritionStep(name, kind, cells[f"attrition/{i}"], cells[f"gain/{i}"]))
    with protecting():
        return ProtectedResult(
            title=title,
            final=cells["final"],
            entries=cells["entries"],
            attrition=tuple(attrition),
            policy=policy,
            fingerprint=fingerprint,
            database=database,
            breakdowns=tuple(_table(b, cube, cells) for b in breakdowns),
            policy_note=policy_note,
        )


def decided(artifact: Artifact, cube: FinalCohortCube, policy: DisclosurePolicy) -> tuple[Status, ...]:
    """The status of every count of one release on its own (the release ledger starts from these)."""
    return decide(artifact, policy, ReleaseNetworks.of(artifact, cube, policy))


def hidden_further(artifact: Artifact, statuses: tuple[Status, ...], hide: frozenset[str]) -> tuple[Status, ...]:
    """`statuses` with every released count named in `hide` marked as complementary (`>=k`)."""
    return tuple(
        Status.COMPLEMENTARY if status is Status.RELEASED and hide.intersection(quantity.keys) else status
        for quantity, status in zip(artifact.quantities, statuses, strict=True)
    )
