"""Variants lined up person by person: the joint classes that protect_variants releases together."""

from __future__ import annotations

import numpy as np

from cohortql.protect.variants import Variant, VariantCounts
from cohortql.whatif.engine import PlanVectors
from cohortql.whatif.vectors import best_masks


def variant_counts(labels: list[str], vectors: list[PlanVectors]) -> VariantCounts:
    """Persons by (their best entry's mask in each variant), -1 inside meaning no entry there."""
    masks = []
    for item in vectors:
        kinds = tuple(rule.kind for rule in item.plan.rules)
        masks.append((item.entries.person_ids, best_masks(item.entries, list(item.tests), kinds)))
    everyone = np.unique(np.concatenate([ids for ids, _ in masks])) if masks else np.zeros(0, dtype=np.int64)
    columns = []
    for ids, mask in masks:
        column = np.full(len(everyone), -1, dtype=np.int64)
        column[np.searchsorted(everyone, ids)] = mask
        columns.append(column)
    variants = tuple(
        Variant(label, tuple(r.name for r in v.plan.rules), tuple(r.kind for r in v.plan.rules))
        for label, v in zip(labels, vectors, strict=True)
    )
    if len(everyone) == 0:
        return VariantCounts(variants, ())
    groups, persons = np.unique(np.column_stack(columns), axis=0, return_counts=True)
    rows = tuple(
        (tuple(None if m < 0 else int(m) for m in group), int(n)) for group, n in zip(groups, persons, strict=True)
    )
    return VariantCounts(variants, rows)
