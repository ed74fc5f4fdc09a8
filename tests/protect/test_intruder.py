"""Proof by attack: an intruder with everything a release shows tries to pin down small counts.

The intruder here is written independently of cohortql.protect: it knows nothing of blocks or
of the suppression algorithm. It rebuilds the hidden data at its finest (persons by rule mask,
and by stratum for breakdowns), reads the released JSON (`to_dict()`), and for every small count
about people (a cell shown as `<k`, the persons removed between any two attrition steps, any
group of masks) solves the linear programs (scipy's linprog) that minimise and maximise it.
A success is a count whose range is narrower than the protection level of docs/disclosure.md.
For the sensitive counts (each `<k` cell, the persons removed by each rule, and those of them
who also fail a later rule):
  (1) from the released numbers alone (equalities, or the rounding interval), at least k wide;
  (2) with the marks read too (`<k`, `>=k`), no narrower within the small values than what the
      marks and the structure alone would allow.
For every other small group of people the attrition describes (persons removed by any run of
consecutive rules, persons with one exact combination of rules met):
  (3) the released numbers alone cannot show that it is smaller than k.
Hypothesis draws the attrition chains, tables and policies; there must be no success.
COHORTQL_INTRUDER_EXAMPLES=N draws N of each instead of the default (e.g. 1500 for a thorough run).
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from cohortql.counts import RawCounts
from cohortql.protect import Breakdown, DisclosurePolicy, Hierarchy, protect

NUMBERS, MARKS, CLASSES = "numbers", "marks", "classes"


class IntruderView:
    """Hidden variables (the finest data) and every displayed count as a 0/1 row over them."""

    def __init__(self, n_vars: int, policy: DisclosurePolicy):
        self.n = n_vars
        self.policy = policy
        self.shown: list[tuple[np.ndarray, str, int]] = []  # (row, display, true value)

    def show(self, row: np.ndarray, display: str, true_value: int) -> None:
        self.shown.append((row, display, true_value))

    def constraints(self, knowledge: str):
        k, low, base = self.policy.threshold, self.policy.lowest_small, self.policy.rounding_base
        eq, eq_b, ub, ub_b = [], [], [], []

        def at_least(row, value):
            ub.append(-row), ub_b.append(-value)

        def at_most(row, value):
            ub.append(row), ub_b.append(value)

        for row, display, true in self.shown:
            if knowledge == CLASSES:
                if self.policy.is_small(true):
                    at_most(row, k - 1), at_least(row, low)
                elif true == 0:
                    eq.append(row), eq_b.append(0)
                else:
                    at_least(row, k)
                continue
            if display == f"<{k}":
                if knowledge == MARKS:
                    at_most(row, k - 1), at_least(row, low)
            elif display == f">={k}":
                if knowledge == MARKS:
                    at_least(row, k)
            else:
                number = int(display.replace(",", ""))
                if number == 0 or base is None:
                    eq.append(row), eq_b.append(number)
                else:
                    at_most(row, number + base / 2), at_least(row, number - base / 2)
                    if knowledge == MARKS:
                        at_least(row, k)
        return eq, eq_b, ub, ub_b

    def _program(self, knowledge: str) -> dict:
        """linprog's arguments for the blocks (>= 0) under what `knowledge` reads in the release."""
        eq, eq_b, ub, ub_b = self.constraints(knowledge)
        kwargs = dict(bounds=(0, None), method="highs")
        if eq:
            kwargs.update(A_eq=np.array(eq), b_eq=np.array(eq_b, dtype=float))
        if ub:
            kwargs.update(A_ub=np.array(ub), b_ub=np.array(ub_b, dtype=float))
        return kwargs

    def bounds(self, target: np.ndarray, knowledge: str) -> tuple[float, float]:
        program = self._program(knowledge)
        low = linprog(target, **program)
        high = linprog(-target, **program)
        assert low.status == 0, low.message  # the truth is always feasible
        return low.fun, (math.inf if high.status == 3 else -high.fun)

    def upper(self, target: np.ndarray) -> float:
        """The largest value the released numbers alone allow."""
        high = linprog(-target, **self._program(NUMBERS))
        return math.inf if high.status == 3 else -high.fun

    def successes(self, sensitive: list[tuple[str, np.ndarray, int]], groups=()) -> list[str]:
        """Every small count the intruder narrows below the protection level."""
        k, low = self.policy.threshold, self.policy.lowest_small
        found = []
        for name, row, true in groups:
            if self.policy.is_small(true) and row.any() and self.upper(row) < k - 1e-6:
                found.append(f"{name} = {true}: the numbers show it is below {k}")
        for name, row, true in sensitive:
            if not self.policy.is_small(true) or not row.any():
                continue
            lo, hi = self.bounds(row, NUMBERS)
            if hi - lo < k - 1e-6:
                found.append(f"{name} = {true}: numbers alone give [{lo:g}, {hi:g}]")
            lo, hi = self.bounds(row, MARKS)
            if lo > low + 1e-6 or hi < k - 1 - 1e-6:
                alone_lo, alone_hi = self.bounds(row, CLASSES)
                want_lo, want_hi = max(alone_lo, low), min(alone_hi, k - 1)
                if lo > want_lo + 1e-6 or hi < want_hi - 1e-6:
                    found.append(f"{name} = {true}: marks and numbers give [{lo:g}, {hi:g}], "
                                 f"marks alone [{alone_lo:g}, {alone_hi:g}]")
        return found


# ---- attrition chains ---------------------------------------------------------------------

counts = st.one_of(st.just(0), st.just(0), st.integers(1, 12), st.integers(8, 40), st.integers(40, 400))


@st.composite
def policies(draw, complementary=True):
    k = draw(st.integers(1, 15))
    return DisclosurePolicy(
        threshold=k,
        suppress_zero=draw(st.booleans()),
        rounding_base=draw(st.one_of(st.none(), st.none(), st.integers(2, 2 * k))),
        complementary=complementary,
        attrition_differences=complementary,
    )


@st.composite
def attrition_chains(draw):
    n = draw(st.integers(0, 4))
    persons = draw(st.lists(counts, min_size=2**n, max_size=2**n))
    extra = draw(st.one_of(st.just(0), st.integers(1, 30))) if sum(persons) else 0
    rows, pending = [], extra
    for mask, size in enumerate(persons):
        if size:
            rows.append((mask, (), size, size + pending))
            pending = 0
    return RawCounts(tuple(f"rule {i + 1}" for i in range(n)), (), tuple(rows)), extra


def step_row(n: int, i: int) -> np.ndarray:
    """Persons after rule i (0: entry) over the 2^n mask variables (+1 for extra entries)."""
    prefix = (1 << i) - 1
    return np.array([float(m & prefix == prefix) for m in range(2**n)] + [0.0])


def release(raw: RawCounts, policy: DisclosurePolicy, breakdowns=(), hierarchies=(), strata_values=None):
    kinds = tuple("include" for _ in raw.rule_names)
    return protect(raw, policy, rule_kinds=kinds, title=None, fingerprint="sha256:test", database={},
                   breakdowns=breakdowns, hierarchies=hierarchies, strata_values=strata_values).to_dict()


def attack_attrition(raw: RawCounts, extra: int, policy: DisclosurePolicy) -> list[str]:
    n = len(raw.rule_names)
    full = (1 << n) - 1
    truth = np.zeros(2**n + 1)
    for mask, _s, size, _e in raw.rows:
        truth[mask] += size
    truth[-1] = extra
    released = release(raw, policy)
    view = IntruderView(2**n + 1, policy)
    steps = [step_row(n, i) for i in range(n + 1)]
    for i, step in enumerate(released["attrition"]):
        view.show(steps[i], step["display"], int(steps[i] @ truth))
        if i:
            gain = np.zeros(2**n + 1)
            gain[full & ~(1 << (i - 1))] = 1
            view.show(gain, step["gain"]["display"], int(gain @ truth))
    final = np.zeros(2**n + 1)
    final[full] = 1
    view.show(final, released["final"]["display"], int(final @ truth))
    entries = steps[0].copy()
    entries[-1] = 1
    if not extra:
        view.shown.append((np.eye(2**n + 1)[-1], "0", 0))  # one entry per person: the intruder may know it
    view.show(entries, released["entries"]["display"], int(entries @ truth))

    sensitive = [(f"shown {i}", row, true) for i, (row, display, true) in enumerate(view.shown)
                 if display == f"<{policy.threshold}"]
    for i in range(1, n + 1):
        removed = steps[i - 1] - steps[i]
        gain = np.zeros(2**n + 1)
        gain[full & ~(1 << (i - 1))] = 1
        sensitive.append((f"removed by rule {i}", removed, int(removed @ truth)))
        sensitive.append((f"removed by rule {i}, not its gain", removed - gain, int((removed - gain) @ truth)))
    groups = [(f"step {i} - step {j}", steps[i] - steps[j], int((steps[i] - steps[j]) @ truth))
              for i in range(n + 1) for j in range(i + 2, n + 1)]
    groups += [(f"mask {m:0{max(n, 1)}b}", np.eye(2**n + 1)[m], int(truth[m])) for m in range(2**n)]
    return view.successes(sensitive, groups)


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EXAMPLES = os.environ.get("COHORTQL_INTRUDER_EXAMPLES")


def examples(default: int) -> int:
    return int(EXAMPLES) if EXAMPLES else default


@settings(max_examples=examples(800), **SETTINGS)
@given(attrition_chains(), policies())
def test_no_small_count_of_an_attrition_chain_can_be_narrowed(chain, policy):
    raw, extra = chain
    assert attack_attrition(raw, extra, policy) == []


# ---- breakdown tables ---------------------------------------------------------------------

SITES = ("A", "B", "C", "D")
GROUPS = {"A": "north", "B": "north", "C": "south", "D": "south"}
SEXES = ("F", "M")


@st.composite
def tables(draw):
    """Raw counts by rule mask, site and sex, and which tables are released with the attrition."""
    n = draw(st.integers(0, 2))
    sites = SITES[: draw(st.integers(2, 4))]
    rows = []
    for mask in range(2**n):
        for site in sites:
            for sex in SEXES:
                size = draw(counts)
                if size:
                    rows.append((mask, (site, sex), size, size))
    choices = [("site",), ("sex",), ("site", "sex"), ("site_group",), ("site_group", "sex")]
    chosen = draw(st.lists(st.sampled_from(choices), min_size=1, max_size=3, unique=True))
    grouped = draw(st.booleans())
    hierarchies = (Hierarchy.of("site", "site_group", {s: GROUPS[s] for s in sites}),) if grouped else ()
    if not grouped:
        chosen = [c for c in chosen if "site_group" not in c] or [("site",)]
    raw = RawCounts(tuple(f"rule {i + 1}" for i in range(n)), ("site", "sex"), tuple(rows))
    return raw, sites, tuple(Breakdown(c) for c in chosen), hierarchies


def attack_tables(raw, sites, breakdowns, hierarchies, policy) -> list[str]:
    n = len(raw.rule_names)
    full = (1 << n) - 1
    cells = [(m, s, x) for m in range(2**n) for s in sites for x in SEXES]
    position = {cell: i for i, cell in enumerate(cells)}
    truth = np.zeros(len(cells))
    for mask, (site, sex), size, _e in raw.rows:
        truth[position[(mask, site, sex)]] += size
    released = release(raw, policy, breakdowns, hierarchies, {"site": sites, "sex": SEXES})
    view = IntruderView(len(cells), policy)

    def row(where) -> np.ndarray:
        return np.array([float(where(*cell)) for cell in cells])

    for i, step in enumerate(released["attrition"]):
        prefix = (1 << i) - 1
        r = row(lambda m, s, x, p=prefix: m & p == p)
        view.show(r, step["display"], int(r @ truth))
        if i:
            r = row(lambda m, s, x, g=full & ~(1 << (i - 1)): m == g)
            view.show(r, step["gain"]["display"], int(r @ truth))
    for table in released["breakdowns"]:
        for cell in table["cells"] + table["margins"]:
            strata = cell["strata"]

            def member(m, s, x, strata=strata):
                return (m == full and strata.get("site", s) == s and strata.get("sex", x) == x
                        and strata.get("site_group", GROUPS[s]) == GROUPS[s])

            r = row(member)
            view.show(r, cell["display"], int(r @ truth))
    sensitive = [(f"shown {i}", r, true) for i, (r, display, true) in enumerate(view.shown)
                 if display == f"<{policy.threshold}"]
    for i in range(1, n + 1):
        r = row(lambda m, s, x, p=(1 << (i - 1)) - 1, b=1 << (i - 1): m & p == p and not m & b)
        sensitive.append((f"removed by rule {i}", r, int(r @ truth)))
    return view.successes(sensitive)


@settings(max_examples=examples(400), **SETTINGS)
@given(tables(), policies())
def test_no_small_cell_of_a_breakdown_can_be_narrowed(drawn, policy):
    raw, sites, breakdowns, hierarchies = drawn
    assert attack_tables(raw, sites, breakdowns, hierarchies, policy) == []


# ---- the intruder has teeth ---------------------------------------------------------------


def test_primary_suppression_alone_is_broken_by_the_attack():
    """Two released steps 5 apart: the persons removed by rule 1 are computed exactly."""
    raw = RawCounts(("rule 1", "rule 2"), (), ((3, (), 50, 50), (2, (), 3, 3), (1, (), 45, 45), (0, (), 2, 2)))
    weak = DisclosurePolicy(complementary=False, attrition_differences=False)
    found = attack_attrition(raw, 0, weak)
    assert any(f.startswith("removed by rule 1 = 5") for f in found), found
    assert attack_attrition(raw, 0, DisclosurePolicy()) == []


def test_a_site_group_total_cannot_give_away_its_only_small_site():
    rows = (
        (0, ("A", "F"), 3, 3), (0, ("B", "F"), 40, 40), (0, ("C", "F"), 50, 50), (0, ("D", "F"), 60, 60),
    )
    raw = RawCounts((), ("site", "sex"), rows)
    hierarchy = (Hierarchy.of("site", "site_group", GROUPS),)
    weak = DisclosurePolicy(complementary=False, attrition_differences=False)
    args = (raw, SITES, (Breakdown(("site",)),), hierarchy)
    assert any(f.startswith("shown") for f in attack_tables(*args, weak))
    assert attack_tables(*args, DisclosurePolicy()) == []


@pytest.mark.parametrize("k", [1, 5, 10])
def test_the_attack_finds_nothing_to_protect_when_nothing_is_small(k):
    raw = RawCounts(("rule 1",), (), ((1, (), 200, 200), (0, (), 100, 100)))
    assert attack_attrition(raw, 0, DisclosurePolicy(threshold=k)) == []
