"""Each rule's impact on the final count: Shapley value, persons it alone excludes, persons it removes.

The game: for a set S of the rules, the persons whose best entry (chosen with every rule, as
the attrition is) meets every rule in S. A person failing the rules F adds 1 to the count of
every S that avoids F, so each rule of F bears 1/|F| of that person's loss: a rule's Shapley
value is minus the sum, over the persons it excludes, of 1/(number of rules excluding them).
The values add up to final - entry persons. Linear in the persons; exact (fractions).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class RuleImpact:
    rule: str
    shapley: Fraction  # <= 0: this rule's fair share of the persons the rules remove
    alone: int  # persons this rule excludes and no other rule does
    removes: int  # persons this rule excludes, whatever else excludes them


def rule_impacts(rule_names: tuple[str, ...], masks: Iterable[tuple[int, int]]) -> list[RuleImpact]:
    """From (best-entry mask, persons) pairs: a rule's bit is 1 where the person meets it."""
    n = len(rule_names)
    full = (1 << n) - 1
    shapley = [Fraction(0)] * n
    alone = [0] * n
    removes = [0] * n
    for mask, persons in masks:
        failed = [i for i in range(n) if not (mask & full) >> i & 1]
        for i in failed:
            shapley[i] -= Fraction(persons, len(failed))
            removes[i] += persons
        if len(failed) == 1:
            alone[failed[0]] += persons
    return [RuleImpact(rule_names[i], shapley[i], alone[i], removes[i]) for i in range(n)]
