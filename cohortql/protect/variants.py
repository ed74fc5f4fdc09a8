"""Several variants of one question released together: one artifact, one suppression decision.

Variants (compare, whatif, sweep, impact) are related tables: most persons are the same people,
so the difference of two released counts is itself a count of people (those one variant keeps
and the other does not). Protecting each variant alone would let such a difference reveal a
small cell. So the hidden blocks are the joint classes of persons: people with the same rule
mask in every variant (or no entry in it), and every count of every variant is a union of those
blocks. The intruder (intervals.py) then sees all variants' structure at once, and suppression
decides every number of the command together. Variant releases show persons only (attrition,
gains, final); breakdowns and entry-event counts stay with `count`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cohortql.protect.artifact import Artifact, ArtifactBuilder, Status
from cohortql.protect.attrition import COST_ENTRY, COST_FINAL, COST_GAIN, COST_STEP
from cohortql.protect.policy import DisclosurePolicy
from cohortql.protect.protector import _cell
from cohortql.protect.result import ATTRITION_DTYPES, AttritionStep, Cell, protecting
from cohortql.protect.suppression import decide


@dataclass(frozen=True)
class Variant:
    label: str
    rule_names: tuple[str, ...]
    rule_kinds: tuple[str, ...]


@dataclass(frozen=True)
class VariantCounts:
    """Persons by their best entry's rule mask in each variant (None: no entry in that variant).

    True counts about people, like RawCounts: only the protect stage may read it for release."""

    variants: tuple[Variant, ...]
    rows: tuple[tuple[tuple[int | None, ...], int], ...]  # (mask per variant, persons)

    def __post_init__(self):
        if any(len(masks) != len(self.variants) for masks, _ in self.rows):
            raise ValueError("every row needs one mask per variant")


@dataclass(frozen=True)
class VariantResult:
    label: str
    attrition: tuple[AttritionStep, ...]
    final: Cell


@dataclass(frozen=True)
class ProtectedVariants:
    """Every variant's released attrition, decided as one release under one policy."""

    variants: tuple[VariantResult, ...]
    policy: DisclosurePolicy
    fingerprints: tuple[str, ...]
    database: dict
    policy_note: str | None = None  # how the policy stands to the deployment's floor (see `count`)

    def __post_init__(self):
        from cohortql.protect.result import _PROTECTING, UnprotectedResultError

        if not _PROTECTING.get():
            raise UnprotectedResultError("a ProtectedVariants comes only from protect_variants()")

    def to_dict(self) -> dict:
        return {
            "policy": self.policy.to_dict(),
            "policy_note": self.policy_note,
            "database": self.database,
            "fingerprints": list(self.fingerprints),
            "variants": [
                {
                    "label": v.label,
                    "final": v.final.to_dict(),
                    "attrition": [step.to_dict() for step in v.attrition],
                }
                for v in self.variants
            ],
        }

    def frame(self):
        """One row per (variant, step) as a pandas DataFrame: released numbers and their text."""
        import pandas as pd

        rows = [{"variant": v.label, **step.row()} for v in self.variants for step in v.attrition]
        return pd.DataFrame(rows).astype(ATTRITION_DTYPES)


def _mask_keys(variant: Variant, mask: int) -> list[str]:
    """The counts of one variant that a person with this mask belongs to."""
    n = len(variant.rule_names)
    full = (1 << n) - 1
    keys = []
    for i in range(n + 1):
        prefix = (1 << i) - 1
        if mask & prefix == prefix:
            keys.append(f"attrition/{i}")
    if mask & full == full:
        keys.append("final")
    failed = [i for i in range(n) if not mask >> i & 1]
    if failed:
        first = failed[0] + 1
        keys.append(f"removed/{first}")
        if len(failed) == 1:
            keys.append(f"gain/{first}")
        else:
            keys.append(f"removed/{first}/also failing a later rule")
    return keys


def _step_keys(variant: Variant) -> dict[str, str]:
    """Step name -> its count's key: the entry, each rule by name, and the final count."""
    names = {"entry": "attrition/0", "final": "final"}
    names.update({name: f"attrition/{i}" for i, name in enumerate(variant.rule_names, start=1)})
    return names


def _pairs(builder: ArtifactBuilder, counts: VariantCounts, members: dict[str, list[int]]) -> None:
    """For two variants, the persons one keeps at a step (matched by name) and the other does not:
    what the difference of their released counts is about. Not shown, protected like removed persons."""
    steps = [_step_keys(variant) for variant in counts.variants]
    for v in range(len(counts.variants)):
        for w in range(v + 1, len(counts.variants)):
            for name in steps[v].keys() & steps[w].keys():
                mine = set(members.get(f"{v}/{steps[v][name]}", []))
                theirs = set(members.get(f"{w}/{steps[w][name]}", []))
                builder.quantity(f"{v}-{w}/{name}/only in {v}", sorted(mine - theirs), shown=False, cost=0)
                builder.quantity(f"{v}-{w}/{name}/only in {w}", sorted(theirs - mine), shown=False, cost=0)


def build_variant_artifact(counts: VariantCounts) -> Artifact:
    builder = ArtifactBuilder()
    members: dict[str, list[int]] = {}
    for index, (masks, persons) in enumerate(counts.rows):
        builder.block(index, persons)
        for v, (variant, mask) in enumerate(zip(counts.variants, masks, strict=True)):
            if mask is not None:
                for key in _mask_keys(variant, mask):
                    members.setdefault(f"{v}/{key}", []).append(index)
    _pairs(builder, counts, members)
    for v, variant in enumerate(counts.variants):
        n = len(variant.rule_names)
        for i in range(n + 1):
            key = f"{v}/attrition/{i}"
            builder.quantity(key, members.get(key, []), shown=True, cost=COST_ENTRY if i == 0 else COST_STEP)
        builder.quantity(f"{v}/final", members.get(f"{v}/final", []), shown=True, cost=COST_FINAL)
        for i in range(1, n + 1):
            builder.quantity(f"{v}/gain/{i}", members.get(f"{v}/gain/{i}", []), shown=True, cost=COST_GAIN)
            builder.quantity(f"{v}/removed/{i}", members.get(f"{v}/removed/{i}", []), shown=False, cost=0)
            if i < n:
                key = f"{v}/removed/{i}/also failing a later rule"
                builder.quantity(key, members.get(key, []), shown=False, cost=0)
    return builder.build()


def protect_variants(
    counts: VariantCounts, policy: DisclosurePolicy, *, fingerprints: tuple[str, ...], database: dict,
    policy_note: str | None = None,
) -> ProtectedVariants:
    """Every number of every variant, decided together on true counts, then rounded."""
    artifact = build_variant_artifact(counts)
    statuses = decide(artifact, policy)
    cells = {
        key: _cell(quantity.value, status, policy)
        for quantity, status in zip(artifact.quantities, statuses, strict=True)
        for key in quantity.keys
        if status is not Status.DERIVED
    }
    results = []
    for v, variant in enumerate(counts.variants):
        steps = [AttritionStep("entry", "entry", cells[f"{v}/attrition/0"], None)]
        for i, (name, kind) in enumerate(zip(variant.rule_names, variant.rule_kinds, strict=True), start=1):
            steps.append(AttritionStep(name, kind, cells[f"{v}/attrition/{i}"], cells[f"{v}/gain/{i}"]))
        results.append(VariantResult(variant.label, tuple(steps), cells[f"{v}/final"]))
    with protecting():
        return ProtectedVariants(tuple(results), policy, fingerprints, database, policy_note)


def protect_shapley(values, removes, policy: DisclosurePolicy) -> tuple[Cell, ...]:
    """Shapley values as released: whole persons at the policy's rounding, hidden when the rule
    removes a small number of persons (its value lies between minus that number and 0).

    Not part of the intruder's linear model (a Shapley value weighs persons by 1/|F|): docs/whatif.md
    says so. Hiding it whenever the persons it can weigh are few keeps a small group out of sight."""
    cells = []
    for value, removed in zip(values, removes, strict=True):
        if policy.is_small(removed):
            cells.append(Cell(None, policy.suppressed_text))
            continue
        base = policy.rounding_base or 1
        shown = -int(round(-float(value) / base)) * base
        cells.append(Cell(shown, f"{shown:,}"))
    return tuple(cells)
