"""What an intruder can compute: the range of a count over every table consistent with a release.

The intruder's problem is a pair of linear programs over the hidden block sizes (non-negative
reals, the usual relaxation in statistical disclosure control): minimise and maximise the count
subject to what the release says. Three states of knowledge are modelled:

- NUMBERS: the released numbers (equalities) and the structure (blocks >= 0) only;
- MARKS: also what each mark says (`<k`: between the lowest small count and k-1; `>=k`: at least k);
- CLASSES: no numbers at all, only the class of every shown count (0, small, or at least k):
  the least any release with these marks reveals, against which MARKS ranges are judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

import numpy as np

from cohortql.protect.artifact import Artifact, Status
from cohortql.protect.policy import DisclosurePolicy

_TOLERANCE = 1e-7


class Knowledge(Enum):
    NUMBERS = "numbers"
    MARKS = "marks"
    CLASSES = "classes"


class IntruderModelError(RuntimeError):
    """The release is inconsistent with its own structure: a bug, never shown as a result."""


@dataclass(frozen=True)
class Range:
    low: float
    high: float  # math.inf when unbounded
    binding: frozenset[int]  # released counts whose numbers hold the range in (hiding one may widen it)

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True)
class _System:
    a_eq: np.ndarray
    b_eq: np.ndarray
    eq_owner: tuple[int, ...]
    a_ub: np.ndarray
    b_ub: np.ndarray
    bounded_above: frozenset[int]  # blocks some constraint bounds from above


class Intruder:
    """Ranges of counts of one artifact under a policy, for any choice of statuses."""

    def __init__(self, artifact: Artifact, policy: DisclosurePolicy):
        self.artifact = artifact
        self.policy = policy
        n = len(artifact.block_values)
        self._rows = []
        for quantity in artifact.quantities:
            row = np.zeros(n)
            row[list(quantity.blocks)] = 1.0
            self._rows.append(row)
        self._cache: dict = {}

    def range(self, index: int, statuses: tuple[Status, ...], knowledge: Knowledge) -> Range:
        key = (index, knowledge, None if knowledge is Knowledge.CLASSES else statuses)
        if key not in self._cache:
            self._cache[key] = self._range(index, self._system(statuses, knowledge), knowledge)
        return self._cache[key]

    def _constraints(self, statuses, knowledge):
        """(row, sense, bound, owner) for every constraint the release puts on the blocks."""
        k, lowest = self.policy.threshold, self.policy.lowest_small
        for i, quantity in enumerate(self.artifact.quantities):
            if not quantity.shown:
                continue
            if knowledge is Knowledge.CLASSES:
                if self.policy.is_small(quantity.value):
                    mark = Status.PRIMARY
                elif quantity.value == 0:
                    yield i, "=", 0
                    continue
                else:
                    mark = Status.COMPLEMENTARY
            else:
                mark = statuses[i]
                if mark is Status.RELEASED:
                    yield i, "=", quantity.value
                    continue
                if knowledge is Knowledge.NUMBERS:
                    continue
            if mark is Status.PRIMARY:
                yield i, "<=", k - 1
                if lowest > 0:
                    yield i, ">=", lowest
            elif mark is Status.COMPLEMENTARY:
                yield i, ">=", k

    def _system(self, statuses, knowledge) -> _System:
        key = ("system", knowledge, None if knowledge is Knowledge.CLASSES else statuses)
        if key in self._cache:
            return self._cache[key]
        eq, eq_b, owners, ub, ub_b = [], [], [], [], []
        above: set[int] = set()
        for i, sense, bound in self._constraints(statuses, knowledge):
            row = self._rows[i]
            if sense == "=":
                eq.append(row), eq_b.append(bound), owners.append(i)
            elif sense == "<=":
                ub.append(row), ub_b.append(bound)
            else:
                ub.append(-row), ub_b.append(-bound)
            if sense != ">=":
                above |= self.artifact.quantities[i].blocks
        n = len(self.artifact.block_values)
        system = _System(
            np.array(eq).reshape(-1, n), np.array(eq_b, dtype=float), tuple(owners),
            np.array(ub).reshape(-1, n), np.array(ub_b, dtype=float), frozenset(above),
        )
        self._cache[key] = system
        return system

    def _range(self, index: int, system: _System, knowledge: Knowledge) -> Range:
        quantity = self.artifact.quantities[index]
        objective = self._rows[index]
        if quantity.blocks - system.bounded_above:  # a block nothing bounds from above
            if knowledge is Knowledge.NUMBERS:
                return Range(0.0, math.inf, frozenset())  # infinitely wide, whatever the low end
            low, low_binding = self._optimum(objective, system)
            return Range(low, math.inf, low_binding)
        low, low_binding = self._optimum(objective, system)
        high, high_binding = self._optimum(-objective, system)
        return Range(low, -high, low_binding | high_binding)

    def _optimum(self, objective: np.ndarray, system: _System) -> tuple[float, frozenset[int]]:
        from scipy.optimize import linprog  # imported on first use: most commands never protect anything

        result = linprog(
            objective,
            A_ub=system.a_ub if len(system.b_ub) else None,
            b_ub=system.b_ub if len(system.b_ub) else None,
            A_eq=system.a_eq if len(system.b_eq) else None,
            b_eq=system.b_eq if len(system.b_eq) else None,
            bounds=(0, None),
            method="highs",
        )
        if result.status == 3:
            return -math.inf, frozenset()
        if result.status != 0:
            raise IntruderModelError(f"the intruder's linear program failed: {result.message}")
        binding = frozenset(
            owner for owner, dual in zip(system.eq_owner, result.eqlin.marginals, strict=True)
            if abs(dual) > _TOLERANCE
        ) if len(system.b_eq) else frozenset()
        value = float(result.fun)
        nearest = round(value)
        return (float(nearest) if abs(value - nearest) < 1e-6 else value), binding
