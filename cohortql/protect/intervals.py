"""What an intruder can compute: the range of a count over every table consistent with a release.

The intruder's problem is a pair of linear programs over the hidden block sizes (non-negative
reals, the usual relaxation in statistical disclosure control): minimise and maximise the count
subject to what the release says. Three states of knowledge are modelled:

- NUMBERS: the released numbers (equalities) and the structure (blocks >= 0) only;
- MARKS: also what each mark says (`<k`: between the lowest small count and k-1; `>=k`: at least k);
- CLASSES: no numbers at all, only the class of every shown count (0, small, or at least k):
  the least any release with these marks reveals, against which MARKS ranges are judged.

All of them are one HiGHS model: a column per block, a row per shown count. A state of knowledge
and a choice of statuses only set the rows' bounds (a released count is an equality, a mark an
inequality, an unknown number a free row), so the model is built once per artifact and each
solve starts from the previous basis. Rebuilding a problem per solve cost more than solving it.
"""

from __future__ import annotations

import ctypes
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from cohortql.protect.artifact import Artifact, Status
from cohortql.protect.policy import DisclosurePolicy

if TYPE_CHECKING:
    import numpy as np

# numpy and HiGHS are imported where a range is solved: a release with nothing small needs neither.

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
class _Bounds:
    """What one state of knowledge says about each shown count: the row bounds of the model."""

    lower: np.ndarray
    upper: np.ndarray
    equalities: tuple[int, ...]  # rows that are released numbers (lower == upper)
    bounded_above: frozenset[int]  # blocks some row bounds from above


@contextmanager
def _stdout_silenced() -> Iterator[None]:
    """Discard what native code writes to the process's standard output meanwhile.

    HiGHS (1.16) prints a banner when a model is created, before any option can turn it off;
    standard output carries the report (`--format json`, `csv`), which must hold nothing else.
    """
    if sys.stdout is not None:
        sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no standard output at all: nothing to keep clean
        yield
        return
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 1)
    try:
        yield
    finally:
        _flush_c_stdio()  # C stdio buffers what HiGHS printed: flush it into /dev/null
        os.dup2(saved, 1)
        os.close(saved)


def _flush_c_stdio() -> None:
    with suppress(OSError, TypeError, AttributeError):  # no C library under that name (Windows)
        ctypes.CDLL(None).fflush(None)


class _Model:
    """The intruder's linear program over the blocks (>= 0), one row per shown count."""

    def __init__(self, artifact: Artifact):
        import highspy  # imported on first use: most commands never protect anything
        import numpy as np

        self.owners = tuple(i for i, q in enumerate(artifact.quantities) if q.shown)  # row -> shown count
        self.columns = len(artifact.block_values)
        blocks = [sorted(artifact.quantities[i].blocks) for i in self.owners]
        with _stdout_silenced():
            self._highs = highspy.Highs()
            self._highs.setOptionValue("output_flag", False)
        self._inf = highspy.kHighsInf
        self._status = highspy.HighsModelStatus
        self._highs.addVars(self.columns, np.zeros(self.columns), np.full(self.columns, self._inf))
        if blocks:
            starts = np.cumsum([0] + [len(b) for b in blocks[:-1]])
            indices = np.array([b for row in blocks for b in row], dtype=np.int32)
            rows = len(blocks)
            free = np.full(rows, self._inf)
            self._highs.addRows(rows, -free, free, len(indices), starts, indices, np.ones(len(indices)))
        for first, other in artifact.links:  # after the shown counts' rows: sum(first) - sum(other) = 0
            columns = sorted(first) + sorted(other)
            signs = np.array([1.0] * len(first) + [-1.0] * len(other))
            self._highs.addRow(0.0, 0.0, len(columns), np.array(columns, dtype=np.int32), signs)
        self._bounds: _Bounds | None = None

    def optimum(self, objective: np.ndarray, bounds: _Bounds) -> tuple[float, frozenset[int]]:
        """min objective . blocks under `bounds`: (value, owners of the equalities that hold it)."""
        import numpy as np

        highs = self._highs
        if bounds is not self._bounds:
            rows = len(self.owners)
            lower = np.where(np.isinf(bounds.lower), -self._inf, bounds.lower)
            upper = np.where(np.isinf(bounds.upper), self._inf, bounds.upper)
            highs.changeRowsBounds(rows, np.arange(rows, dtype=np.int32), lower, upper)
            self._bounds = bounds
        highs.changeColsCost(self.columns, np.arange(self.columns, dtype=np.int32), objective)
        status = self._solve()
        if status in (self._status.kUnbounded, self._status.kUnboundedOrInfeasible):
            return -math.inf, frozenset()  # feasible (the true sizes are a solution), so unbounded
        duals = highs.getSolution().row_dual
        binding = frozenset(self.owners[r] for r in bounds.equalities if abs(duals[r]) > _TOLERANCE)
        value = float(highs.getInfo().objective_function_value)
        nearest = round(value)
        return (float(nearest) if abs(value - nearest) < 1e-6 else value), binding

    def _solve(self):
        highs = self._highs
        # Never infeasible (the true block sizes are a solution): "unbounded or infeasible" is unbounded.
        solved = (self._status.kOptimal, self._status.kUnbounded, self._status.kUnboundedOrInfeasible)
        highs.run()
        status = highs.getModelStatus()
        if status not in solved:
            highs.clearSolver()  # a warm start gone wrong: solve again from scratch
            highs.run()
            status = highs.getModelStatus()
        if status not in solved:
            raise IntruderModelError(f"the intruder's linear program failed: {highs.modelStatusToString(status)}")
        return status


def _bounded_through_links(above: set[int], links) -> set[int]:
    """Blocks bounded above, given that linked sets have equal sums: when every block of one side
    is bounded, so is the other side's sum, and each of its (non-negative) blocks."""
    changed = True
    while changed:
        changed = False
        for first, other in links:
            for side, opposite in ((first, other), (other, first)):
                if side <= above and not opposite <= above:
                    above |= opposite
                    changed = True
    return above


class Intruder:
    """Ranges of counts of one artifact under a policy, for any choice of statuses."""

    def __init__(self, artifact: Artifact, policy: DisclosurePolicy):
        self.artifact = artifact
        self.policy = policy
        shown = (i for i, q in enumerate(artifact.quantities) if q.shown)
        self._row_of = {owner: row for row, owner in enumerate(shown)}  # the model's rows, in this order
        self._model: _Model | None = None  # built on the first range that needs a solve
        self._cache: dict = {}

    def range(self, index: int, statuses: tuple[Status, ...], knowledge: Knowledge) -> Range:
        key = (index, knowledge, None if knowledge is Knowledge.CLASSES else statuses)
        if key not in self._cache:
            self._cache[key] = self._range(index, self._bounds(statuses, knowledge), knowledge)
        return self._cache[key]

    def _constraints(self, statuses, knowledge):
        """(count, sense, bound) for every constraint the release puts on the blocks."""
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

    def _bounds(self, statuses, knowledge) -> _Bounds:
        key = ("bounds", knowledge, None if knowledge is Knowledge.CLASSES else statuses)
        if key in self._cache:
            return self._cache[key]
        import numpy as np

        lower = np.full(len(self._row_of), -math.inf)
        upper = np.full(len(self._row_of), math.inf)
        equalities, above = [], set()
        for i, sense, bound in self._constraints(statuses, knowledge):
            row = self._row_of[i]
            if sense in ("=", ">="):
                lower[row] = bound
            if sense in ("=", "<="):
                upper[row] = bound
                above |= self.artifact.quantities[i].blocks
            if sense == "=":
                equalities.append(row)
        bounds = _Bounds(lower, upper, tuple(equalities), frozenset(_bounded_through_links(above, self.artifact.links)))
        self._cache[key] = bounds
        return bounds

    def _range(self, index: int, bounds: _Bounds, knowledge: Knowledge) -> Range:
        quantity = self.artifact.quantities[index]
        if not quantity.blocks:
            return Range(0.0, 0.0, frozenset())
        import numpy as np

        objective = np.zeros(len(self.artifact.block_values))
        objective[sorted(quantity.blocks)] = 1.0
        if self._model is None:
            self._model = _Model(self.artifact)
        if quantity.blocks - bounds.bounded_above:  # a block nothing bounds from above
            if knowledge is Knowledge.NUMBERS:
                return Range(0.0, math.inf, frozenset())  # infinitely wide, whatever the low end
            low, low_binding = self._model.optimum(objective, bounds)
            return Range(low, math.inf, low_binding)
        low, low_binding = self._model.optimum(objective, bounds)
        high, high_binding = self._model.optimum(-objective, bounds)
        return Range(low, -high, low_binding | high_binding)
