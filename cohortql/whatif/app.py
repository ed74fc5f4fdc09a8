"""The what-if commands as functions (CLI and Python API): compare, whatif, sweep, impact, watch steps.

Each builds its variants as definition texts, computes every variant's vectors through one
`CachedCounter` (one data version for all), lines the variants up person by person and
releases every number through `protect_variants` as one release.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cohortql import pipeline
from cohortql.diagnostics import Source
from cohortql.execute.target import Target
from cohortql.fingerprint import fingerprint
from cohortql.protect import DisclosurePolicy
from cohortql.protect.profile import active_policy
from cohortql.protect.result import Cell
from cohortql.protect.variants import ProtectedVariants, protect_shapley, protect_variants
from cohortql.whatif import variants as edit
from cohortql.whatif.engine import CachedCounter, PlanVectors
from cohortql.whatif.impact import RuleImpact, rule_impacts
from cohortql.whatif.joint import variant_counts
from cohortql.whatif.vectors import best_masks


def _release(
    labels: list[str], sources: list[Source], counter: CachedCounter, policy: DisclosurePolicy | None,
    note: str | None = None,
) -> tuple[ProtectedVariants, list]:
    compiled = [pipeline.compile_source(source) for source in sources]
    plans = [c.plan for c in compiled]
    vectors, _ = counter.vectors(plans)
    released = protect_variants(
        variant_counts(labels, vectors),
        policy or active_policy().policy,
        fingerprints=tuple(fingerprint(plan) for plan in plans),
        database=counter.target.to_dict(),
        policy_note=note,
    )
    return released, vectors


def compare(sources: list[Source], counter: CachedCounter, policy: DisclosurePolicy | None = None,
            note: str | None = None) -> ProtectedVariants:
    """Each definition's attrition, released together (rules are matched by name in the report).

    `note` (every command here takes it) is how the policy stands to the deployment's floor."""
    return _release([source.name for source in sources], sources, counter, policy, note)[0]


def whatif_sources(source: Source, drops: list[str], sets: list[str], each: bool = False) -> list[tuple[str, Source]]:
    """(label, text) of the definition as written, then the variant (or one variant per change)."""
    changes = [("drop", name) for name in drops] + [("set", setting) for setting in sets]
    if not changes:
        raise edit.VariantError("nothing to vary", 'give --drop "rule" or --set "rule: criterion"')

    def apply(text: Source, change: tuple[str, str]) -> Source:
        kind, value = change
        if kind == "drop":
            return edit.drop_rule(text, value)
        name, criterion = edit.split_setting(text, value)
        return edit.set_rule(text, name, criterion)

    def label(change: tuple[str, str]) -> str:
        return f'drop "{change[1]}"' if change[0] == "drop" else f"set {change[1]}"

    found = [("as written", source)]
    if each:
        found += [(label(change), apply(source, change)) for change in changes]
    else:
        variant = source
        for change in changes:
            variant = apply(variant, change)
        found.append(("; ".join(label(change) for change in changes), variant))
    for _label, variant in found[1:]:
        pipeline.compile_source(variant)  # a bad --set shows its error before anything runs
    return found


def release_sources(
    labelled: list[tuple[str, Source]], counter: CachedCounter, policy: DisclosurePolicy | None = None,
    note: str | None = None,
) -> ProtectedVariants:
    """(label, definition) pairs counted and released together."""
    return _release([label for label, _ in labelled], [text for _, text in labelled], counter, policy, note)[0]


def whatif(source: Source, drops: list[str], sets: list[str], counter: CachedCounter,
           policy: DisclosurePolicy | None = None, each: bool = False, note: str | None = None) -> ProtectedVariants:
    return release_sources(whatif_sources(source, drops, sets, each), counter, policy, note)


@dataclass(frozen=True)
class SweepResult:
    rule: str
    number: str  # the number as written in the rule, which the sweep replaces
    values: tuple[Decimal, ...]
    released: ProtectedVariants  # one variant per value, then the definition as written last

    def finals(self) -> list[tuple[Decimal, Cell]]:
        return [(value, v.final) for value, v in zip(self.values, self.released.variants, strict=False)]

    def frame(self):
        """One row per value: the value and the released final count (missing when suppressed)."""
        import pandas as pd

        rows = [{"rule": self.rule, "value": float(value), "final": cell.value, "final_display": cell.display}
                for value, cell in self.finals()]
        return pd.DataFrame(rows).astype({"final": "Int64"})


def sweep(source: Source, rule: str, vary: str, counter: CachedCounter, policy: DisclosurePolicy | None = None,
          position: int | None = None, note: str | None = None) -> SweepResult:
    values = edit.parse_range(vary)
    if not values:
        raise edit.VariantError(f"--vary `{vary}` gives no values")
    number = edit.choose_number(source, rule, values, position)
    sources = [edit.vary_number(source, number, value) for value in values]
    labels = [f"{rule} with {number.text} -> {format(value, 'f')}" for value in values]
    released, _ = _release([*labels, "as written"], [*sources, source], counter, policy, note)
    return SweepResult(rule, number.text, tuple(values), released)


@dataclass(frozen=True)
class ImpactRow:
    rule: str
    kind: str
    shapley: Cell
    alone: Cell  # persons this rule alone excludes (the attrition's "gain" column)
    final_without: Cell  # the final count of the definition without this rule (a true re-count)
    gain_if_dropped: Cell  # final_without - final, from the released numbers


@dataclass(frozen=True)
class ImpactResult:
    released: ProtectedVariants  # the definition, then one variant without each rule
    rows: tuple[ImpactRow, ...]

    def frame(self):
        """One row per rule: the released impact measures (missing when suppressed)."""
        import pandas as pd

        rows = [
            {"rule": row.rule, "kind": row.kind, "shapley": row.shapley.value, "excluded_alone": row.alone.value,
             "final_without": row.final_without.value, "gain_if_dropped": row.gain_if_dropped.value}
            for row in self.rows
        ]
        columns = ("shapley", "excluded_alone", "final_without", "gain_if_dropped")
        return pd.DataFrame(rows).astype(dict.fromkeys(columns, "Int64"))


def impact(source: Source, counter: CachedCounter, policy: DisclosurePolicy | None = None,
           note: str | None = None) -> ImpactResult:
    policy = policy or active_policy().policy
    names = list(edit.rules_of(source))
    if not names:
        raise edit.VariantError(f"{source.name} has no rules", "impact compares each rule with the others")
    sources = [source, *(edit.drop_rule(source, name) for name in names)]
    labels = ["as written", *(f'without "{name}"' for name in names)]
    released, vectors = _release(labels, sources, counter, policy, note)
    plan = vectors[0].plan
    exact = true_impacts(vectors[0])
    shapley = protect_shapley([i.shapley for i in exact], [i.removes for i in exact], policy)
    final = released.variants[0].final
    rows = []
    for index, rule in enumerate(plan.rules):
        without = released.variants[index + 1].final
        step = released.variants[0].attrition[index + 1]
        both = final.value is not None and without.value is not None
        gain = Cell(without.value - final.value, f"{without.value - final.value:,}") if both else Cell(None, "-")
        rows.append(ImpactRow(rule.name, rule.kind, shapley[index], step.gain, without, gain))
    return ImpactResult(released, tuple(rows))


def true_impacts(vectors: PlanVectors) -> list[RuleImpact]:
    """True counts about people: for protect_shapley (and tests), never for a report."""
    import numpy as np

    plan = vectors.plan
    masks = best_masks(vectors.entries, list(vectors.tests), tuple(rule.kind for rule in plan.rules))
    values, counts = np.unique(masks, return_counts=True)
    by_mask = [(int(v), int(n)) for v, n in zip(values, counts, strict=True)]
    return rule_impacts(tuple(rule.name for rule in plan.rules), by_mask)


def count(source: Source, counter: CachedCounter, policy: DisclosurePolicy | None = None,
          by: tuple[str, ...] | None = None):
    """`cohortql count` through the cache: the same ProtectedResult as the one pass."""
    return pipeline.run(pipeline.compile_source(source), counter.target, policy, by, cache=counter)


def target_counter(target: Target, cache_dir=None, use_cache: bool = True) -> CachedCounter:
    from cohortql.whatif.store import NoCache, VectorCache

    return CachedCounter(target, VectorCache(cache_dir) if use_cache else NoCache())
