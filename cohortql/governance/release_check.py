"""A new release checked against the ledger of earlier ones: person sets recomputed in this process,
the intruder across releases (cohortql/protect/ledger.py), the cells it hides further.

Where person memberships come from is one seam, `Memberships`: by default the cohort query is run
again per person (`QueryMemberships`); a cache of per-rule truth vectors can answer instead.
Memberships never leave the process: the ledger stores only definitions, breakdowns, the CDM's
identity and the released cells.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from cohortql.counts import RawCounts

if TYPE_CHECKING:
    from cohortql.execute.target import Target
    from cohortql.pipeline import Compiled
    from cohortql.protect import DisclosurePolicy, ProtectedResult
    from cohortql.protect.ledger import LedgerRelease, LedgerVerdict


class LedgerError(Exception):
    """The ledger cannot check a release (an earlier one no longer recomputes): refuse, with the reason."""


@dataclass(frozen=True)
class PersonRows:
    """Every person of a cohort's entry step: their rule mask, strata and entries. True data."""

    rule_names: tuple[str, ...]
    strata: tuple[str, ...]
    persons: np.ndarray  # int64, sorted
    masks: np.ndarray  # int64
    values: tuple[tuple, ...]  # per person: the strata values
    entries: np.ndarray  # int64

    def raw_counts(self) -> RawCounts:
        """The one-pass result these rows aggregate to (persons and entries by mask and strata)."""
        totals: dict[tuple, list[int]] = {}
        for mask, values, entries in zip(self.masks.tolist(), self.values, self.entries.tolist(), strict=True):
            total = totals.setdefault((mask, values), [0, 0])
            total[0] += 1
            total[1] += entries
        rows = tuple((mask, values, n, e) for (mask, values), (n, e) in sorted(totals.items(), key=_row_order))
        return RawCounts(self.rule_names, self.strata, rows)


def _row_order(item):
    (mask, values), _ = item
    return mask, tuple((v is None, str(v)) for v in values)


class Memberships(Protocol):
    def person_rows(self, compiled: Compiled, target: Target, dimensions: tuple[str, ...]) -> PersonRows: ...


class QueryMemberships:
    """Runs the cohort query again, one row per person, on the release's engine."""

    def person_rows(self, compiled: Compiled, target: Target, dimensions: tuple[str, ...]) -> PersonRows:
        from cohortql.execute.runner import run_person_rows
        from cohortql.render import render
        from cohortql.render.strata import strata_for

        rendered = render(compiled.plan, target.cdm_schema, target.vocab_schema, strata_for(dimensions),
                          per_person=True)
        rows = run_person_rows(rendered, target)
        width = len(rendered.strata)
        return PersonRows(
            rendered.rule_names, rendered.strata,
            np.array([int(r[0]) for r in rows], dtype=np.int64),
            np.array([int(r[1]) for r in rows], dtype=np.int64),
            tuple(tuple(r[2:2 + width]) for r in rows),
            np.array([int(r[2 + width]) for r in rows], dtype=np.int64),
        )


@dataclass(frozen=True)
class EarlierRelease:
    """A ledger entry as the governance store keeps it."""

    label: str
    definition_text: str
    breakdown: tuple[str, ...]
    policy: dict
    cells: list[dict]


@dataclass(frozen=True)
class CheckedRelease:
    result: ProtectedResult | None  # None when the ledger refuses
    verdict: LedgerVerdict
    cells: list[dict]  # what the ledger records for this release
    breakdown: tuple[str, ...]


def block_name(key) -> str:
    """A block of an artifact as stable text (JSON): how the ledger names it across processes."""
    return json.dumps(key, sort_keys=True, default=str)


def _final_strata(cube) -> tuple[str, ...]:
    """The strata a person's final-cohort block is named by: one table, so one cut of the cohort."""
    if len(cube.components) != 1:
        raise ValueError("the release ledger needs the final cohort cut one way (one breakdown table)")
    return cube.components[0]


def _blocks_of_persons(rows: PersonRows, final_strata: tuple[str, ...], names: dict[str, int]) -> np.ndarray:
    """The index (in `names`) of every person's block: the final cohort by strata, or where they first fail."""
    from cohortql.protect.attrition import block_of_mask

    positions = [rows.strata.index(name) for name in final_strata]
    n = len(rows.rule_names)
    cache: dict[tuple, int] = {}
    out = np.empty(len(rows.persons), dtype=np.int64)
    for i, (mask, values) in enumerate(zip(rows.masks.tolist(), rows.values, strict=True)):
        combo = (mask, values)
        if combo not in cache:
            block = block_of_mask(mask, n)
            key = ("final", 0, tuple(values[p] for p in positions)) if block is None else block
            cache[combo] = names[block_name(key)]
        out[i] = cache[combo]
    return out


def _cells(artifact, statuses, policy) -> list[dict]:
    """Every count of a release as the ledger records it; counts of entry events (not persons) left out."""
    from cohortql.protect.artifact import Status
    from cohortql.protect.attrition import EXTRA_ENTRIES

    extra = artifact.block_keys.index(EXTRA_ENTRIES) if EXTRA_ENTRIES in artifact.block_keys else None
    cells = []
    for quantity, status in zip(artifact.quantities, statuses, strict=True):
        if extra in quantity.blocks or not quantity.blocks:
            continue
        cells.append({
            "keys": list(quantity.keys),
            "blocks": sorted(block_name(artifact.block_keys[b]) for b in quantity.blocks),
            "status": status.value,
            "shown": policy.release(quantity.value) if status is Status.RELEASED else None,
            "cost": quantity.cost,
        })
    return cells


def ledger_release(label: str, policy: DisclosurePolicy, cells: list[dict], rows: PersonRows,
                    final_strata: tuple[str, ...]) -> LedgerRelease:
    from cohortql.protect.artifact import Status
    from cohortql.protect.ledger import LedgerCell, LedgerRelease

    names = sorted({name for cell in cells for name in cell["blocks"]})
    index = {name: i for i, name in enumerate(names)}
    ledger_cells = tuple(
        LedgerCell(tuple(c["keys"]), frozenset(index[b] for b in c["blocks"]), Status(c["status"]), c["shown"],
                   c["cost"])
        for c in cells
    )
    return LedgerRelease(label, policy, ledger_cells, tuple(names), rows.persons,
                         _blocks_of_persons(rows, final_strata, index))


def _check_recomputes(release: LedgerRelease, earlier: EarlierRelease) -> None:
    """The released numbers of an earlier release must follow from its recomputed person sets."""
    from cohortql.protect.artifact import Status

    for cell in release.cells:
        value = int(np.isin(release.block_of, list(cell.blocks)).sum())
        if cell.status is Status.RELEASED and release.policy.release(value) != cell.shown or (
                cell.status is Status.PRIMARY and not release.policy.is_small(value)):
            raise LedgerError(f"{earlier.label} no longer recomputes on this CDM ({cell.keys[0]} differs from what "
                              "was released): the data changed, so the ledger cannot check releases against it")


def _catalogue(compiled: Compiled, target: Target, dimensions: tuple[str, ...]) -> list[tuple]:
    from cohortql.execute.runner import run_site_catalogue
    from cohortql.render import render
    from cohortql.render.strata import strata_for

    rendered = render(compiled.plan, target.cdm_schema, target.vocab_schema, strata_for(dimensions))
    return run_site_catalogue(rendered, target) if "site" in rendered.strata else []


def _earlier(earlier: EarlierRelease, target: Target, memberships: Memberships) -> LedgerRelease:
    from cohortql.diagnostics import Source
    from cohortql.pipeline import compile_source
    from cohortql.protect import DisclosurePolicy
    from cohortql.protect.strata import breakdown_inputs
    from cohortql.protect.tables import FinalCohortCube

    compiled = compile_source(Source(earlier.label, earlier.definition_text))
    rows = memberships.person_rows(compiled, target, earlier.breakdown)
    raw = rows.raw_counts()
    cube = FinalCohortCube(raw, *breakdown_inputs(earlier.breakdown, raw, _catalogue(compiled, target,
                                                                                      earlier.breakdown)))
    release = ledger_release(earlier.label, DisclosurePolicy.from_dict(earlier.policy), earlier.cells, rows,
                             _final_strata(cube))
    _check_recomputes(release, earlier)
    return release


def protect_rows(rows: PersonRows, policy: DisclosurePolicy, earlier: Sequence[LedgerRelease], *, label: str,
                 rule_kinds: tuple[str, ...], dimensions: tuple[str, ...] = (), catalogue: Sequence[tuple] = (),
                 title: str | None = None, fingerprint: str = "", database: dict | None = None
                 ) -> tuple[CheckedRelease, LedgerRelease]:
    """Protect one release's person rows against earlier ledger releases: the checked release, and the
    release as the next check sees it (with what was hidden)."""
    from cohortql.protect import protect
    from cohortql.protect.ledger import check_release
    from cohortql.protect.protector import build_artifact, decided
    from cohortql.protect.strata import breakdown_inputs

    raw = rows.raw_counts()
    breakdowns, hierarchies, values = breakdown_inputs(dimensions, raw, list(catalogue))
    artifact, cube = build_artifact(raw, breakdowns, hierarchies, values)
    cells = _cells(artifact, decided(artifact, cube, policy), policy)
    verdict = check_release(ledger_release(label, policy, cells, rows, _final_strata(cube)), earlier, policy)
    hidden = [{**cell, "status": "complementary", "shown": None} if verdict.hide & set(cell["keys"]) else cell
              for cell in cells]
    after = ledger_release(label, policy, hidden, rows, _final_strata(cube))
    if not verdict.ok:
        return CheckedRelease(None, verdict, cells, dimensions), after
    result = protect(raw, policy, rule_kinds=rule_kinds, title=title, fingerprint=fingerprint,
                     database=database or {}, breakdowns=breakdowns, hierarchies=hierarchies, strata_values=values,
                     hide=verdict.hide)
    return CheckedRelease(result, verdict, hidden, dimensions), after


def protect_against_ledger(compiled: Compiled, target: Target, policy: DisclosurePolicy,
                           earlier: Sequence[EarlierRelease], *, label: str = "this release",
                           by: tuple[str, ...] | None = None,
                           memberships: Memberships | None = None) -> CheckedRelease:
    """The protected result of `compiled`, with the cells hidden that earlier releases on this CDM require.

    `by`: breakdown dimensions (None: the definition's own `breakdown by`)."""
    from cohortql.fingerprint import fingerprint

    memberships = memberships or QueryMemberships()
    dimensions = compiled.plan.breakdown if by is None else tuple(by)
    rows = memberships.person_rows(compiled, target, dimensions)
    checked, _ = protect_rows(
        rows, policy, [_earlier(e, target, memberships) for e in earlier], label=label,
        rule_kinds=tuple(rule.kind for rule in compiled.plan.rules), dimensions=dimensions,
        catalogue=_catalogue(compiled, target, dimensions), title=dict(compiled.plan.metadata).get("title"),
        fingerprint=fingerprint(compiled.plan), database=target.to_dict(),
    )
    return checked
