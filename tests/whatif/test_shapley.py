"""Shapley values of the rules: the closed form against the definition (every order of the rules).

Brute force: a rule's Shapley value is its average marginal effect on the final count over all
orders in which the rules can be added, v(S) being the count with only the rules S applied.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from cohortql import pipeline
from cohortql.whatif.engine import CachedCounter
from cohortql.whatif.impact import rule_impacts
from cohortql.whatif.store import VectorCache
from cohortql.whatif.vectors import best_masks, raw_counts
from tests.conftest import EXAMPLES


def brute_force(n: int, value) -> list[Fraction]:
    """Average over all n! orders of v(S + i) - v(S); `value` maps a frozenset of rules to a count."""
    totals = [Fraction(0)] * n
    for order in itertools.permutations(range(n)):
        chosen: frozenset[int] = frozenset()
        for rule in order:
            totals[rule] += value(chosen | {rule}) - value(chosen)
            chosen = chosen | {rule}
    return [total / math.factorial(n) for total in totals]


@st.composite
def mask_counts(draw):
    n = draw(st.integers(1, 5))
    counts = draw(st.lists(st.integers(0, 30), min_size=2**n, max_size=2**n))
    return n, [(mask, persons) for mask, persons in enumerate(counts) if persons]


@settings(max_examples=150, deadline=None)
@given(mask_counts())
def test_the_closed_form_is_the_shapley_value(drawn):
    n, masks = drawn
    names = tuple(f"rule {i}" for i in range(n))

    def kept(rules: frozenset[int]) -> int:
        return sum(persons for mask, persons in masks if all(mask >> i & 1 for i in rules))

    impacts = rule_impacts(names, masks)
    assert [i.shapley for i in impacts] == brute_force(n, kept)
    # efficiency: the shares add up to everything the rules remove
    assert sum(i.shapley for i in impacts) == kept(frozenset(range(n))) - kept(frozenset())
    full = (1 << n) - 1
    for index, found in enumerate(impacts):
        assert found.alone == sum(p for m, p in masks if m & full == full & ~(1 << index))
        assert found.removes == sum(p for m, p in masks if not m >> index & 1)


def test_on_eunomia_the_shapley_value_is_that_of_real_recounts(eunomia_target, tmp_path):
    """Earliest entry: one entry per person, so the game of re-counts with only the rules S is the
    closed form's game; v(S) here is an actual count of the definition with the other rules dropped."""
    counter = CachedCounter(eunomia_target, VectorCache(tmp_path))
    nonzero = []
    for path in EXAMPLES:
        plan = pipeline.compile_source(pipeline.read_source(path)).plan
        if plan.entry.mode == "all" or not plan.rules:
            continue
        (vectors,), _ = counter.vectors([plan])
        kinds = tuple(rule.kind for rule in plan.rules)
        names = tuple(rule.name for rule in plan.rules)

        def recount(rules: frozenset[int], vectors=vectors, kinds=kinds, names=names) -> int:
            keep = sorted(rules)
            raw = raw_counts(tuple(names[i] for i in keep), tuple(kinds[i] for i in keep), vectors.entries,
                             [vectors.tests[i] for i in keep], {})
            full = (1 << len(keep)) - 1
            return sum(persons for mask, _s, persons, _e in raw.rows if mask == full)

        masks = best_masks(vectors.entries, list(vectors.tests), kinds)
        counted = [(int(m), int((masks == m).sum())) for m in set(masks.tolist())]
        closed = [i.shapley for i in rule_impacts(names, counted)]
        assert closed == brute_force(len(names), recount), path.name
        nonzero += [path.name for value in closed if value != 0]
    assert len(set(nonzero)) >= 3  # the comparison is not only of zeros
