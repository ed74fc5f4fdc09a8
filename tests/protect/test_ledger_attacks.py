"""Proof by attack across releases: an intruder holding every release on one CDM tries to pin down
small groups of persons. Written independently of cohortql.protect: it knows the persons behind
each displayed count only from what the count means (attrition step i: persons meeting rules
1..i; a gain: persons failing exactly that rule; a table cell: the final cohort with those strata
values), reads only the released JSON, and solves its own linear programs (scipy's linprog).

The hidden variables are the persons grouped by which displayed counts (of any release) they are
in. For every such group of 0 < n < k persons, every count shown as `<k`, and the persons removed
by each rule of each release, when small:
  (1) from the released numbers alone, the range is at least k wide (nothing recovered exactly);
  (2) with the marks read too, it still covers every small value the marks and the structure
      alone would allow.
The worked examples are the attacks of issue 17 on Eunomia; hypothesis draws the general ones
(nested breakdowns, one-rule-apart variants, supersets, complements, time slices) on random
populations and definitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from cohortql import pipeline
from cohortql.diagnostics import Source
from cohortql.governance.release_check import (
    EarlierRelease,
    PersonRows,
    QueryMemberships,
    protect_against_ledger,
    protect_rows,
)
from cohortql.protect import DisclosurePolicy
from tests.conftest import REPO

_BAND = {"age5": 5, "age10": 10}


@dataclass(frozen=True)
class Released:
    """A release as the intruder holds it: the JSON, and (hidden from it) who is behind each count."""

    document: dict
    rows: PersonRows  # the truth, only to build the hidden groups and to check the attack's ranges


def _shown_counts(released: Released):
    """(display, set of persons) for every count the JSON shows about persons, from what it means."""
    doc, rows = released.document, released.rows
    n_rules = len(doc["attrition"]) - 1
    full = (1 << n_rules) - 1
    masks = dict(zip(rows.persons.tolist(), rows.masks.tolist(), strict=True))
    strata = {p: dict(zip(rows.strata, v, strict=True)) for p, v in zip(rows.persons.tolist(), rows.values,
                                                                         strict=True)}
    counts = []
    for i, step in enumerate(doc["attrition"]):
        prefix = (1 << i) - 1
        counts.append((step["display"], frozenset(p for p, m in masks.items() if m & prefix == prefix)))
        if "gain" in step:
            target = full & ~(1 << (i - 1))
            counts.append((step["gain"]["display"], frozenset(p for p, m in masks.items() if m == target)))
    final = frozenset(p for p, m in masks.items() if m == full)
    for table in doc["breakdowns"]:
        for cell in table["cells"] + table["margins"]:
            members = frozenset(p for p in final if all(strata[p][name] == value
                                                        for name, value in cell["strata"].items()))
            counts.append((cell["display"], members))
    return counts


def _removed(released: Released):
    """The persons each rule removes (two consecutive steps): derivable, sensitive when small."""
    rows = released.rows
    masks = dict(zip(rows.persons.tolist(), rows.masks.tolist(), strict=True))
    for i in range(1, len(released.document["attrition"])):
        before, after = (1 << (i - 1)) - 1, (1 << i) - 1
        yield frozenset(p for p, m in masks.items() if m & before == before and m & after != after)


class JointIntruder:
    def __init__(self, releases: list[Released], policy: DisclosurePolicy):
        self.policy = policy
        self.shown = [count for r in releases for count in _shown_counts(r)]
        self.release_of = [i for i, r in enumerate(releases) for _count in _shown_counts(r)]
        self.releases = len(releases)
        persons = sorted(set().union(*(members for _d, members in self.shown)))
        signature = {p: tuple(p in members for _d, members in self.shown) for p in persons}
        groups: dict[tuple, list[int]] = {}
        for p in persons:
            groups.setdefault(signature[p], []).append(p)
        self.groups = list(groups.values())
        self.group_of = {p: g for g, members in enumerate(self.groups) for p in members}
        self.removed = [members for r in releases for members in _removed(r)]

    def row(self, members: frozenset) -> np.ndarray:
        row = np.zeros(len(self.groups))
        for p in members:
            row[self.group_of[p]] = 1.0
        return row

    def _constraints(self, knowledge: str, releases: int):
        k, low, base = self.policy.threshold, self.policy.lowest_small, self.policy.rounding_base
        a_eq, b_eq, a_ub, b_ub = [], [], [], []
        for (display, members), release in zip(self.shown, self.release_of, strict=True):
            if release >= releases:
                continue
            row, true = self.row(members), len(members)
            if knowledge == "classes":
                if self.policy.is_small(true):
                    a_ub += [row, -row]
                    b_ub += [k - 1, -low]
                elif true == 0:
                    a_eq.append(row), b_eq.append(0)
                else:
                    a_ub.append(-row), b_ub.append(-k)
            elif display == f"<{k}":
                if knowledge == "marks":
                    a_ub += [row, -row]
                    b_ub += [k - 1, -low]
            elif display == f">={k}":
                if knowledge == "marks":
                    a_ub.append(-row), b_ub.append(-k)
            else:
                number = int(display.replace(",", ""))
                if base is None or number == 0:
                    a_eq.append(row), b_eq.append(number)
                else:
                    a_ub += [row, -row]
                    b_ub += [number + base / 2, -(number - base / 2)]
        return a_eq, b_eq, a_ub, b_ub

    def bounds(self, target: np.ndarray, knowledge: str, releases: int | None = None) -> tuple[float, float]:
        a_eq, b_eq, a_ub, b_ub = self._constraints(knowledge, self.releases if releases is None else releases)
        program = {"A_eq": np.array(a_eq) if a_eq else None, "b_eq": b_eq or None,
                   "A_ub": np.array(a_ub) if a_ub else None, "b_ub": b_ub or None,
                   "bounds": (0, None), "method": "highs"}
        low = linprog(target, **program)
        high = linprog(-target, **program)
        assert low.status == 0, low.message
        return low.fun, (np.inf if high.status == 3 else -high.fun)

    def successes(self, *, beyond_earlier: bool = False) -> list[str]:
        """Every small group narrowed below the protection level; with `beyond_earlier`, only those the
        last release narrows further than the earlier releases alone did (what the ledger promises).
        This intruder knows which groups are empty (it has a variable only for groups holding
        persons), more than one release's protection assumes: the first release is held to the
        single-release guarantee of test_intruder.py instead."""
        k, lowest = self.policy.threshold, self.policy.lowest_small
        sensitive = [(f"group of {len(g)}", frozenset(g)) for g in self.groups if 0 < len(g) < k]
        sensitive += [(f"cell shown {d}", m) for d, m in self.shown if d == f"<{k}" and m]
        sensitive += [("persons removed by a rule", m) for m in self.removed if self.policy.is_small(len(m)) and m]
        before = self.releases - 1 if beyond_earlier else 0
        found = []
        for name, members in sensitive:
            target = self.row(members)
            low, high = self.bounds(target, "numbers")
            if high - low < k - 1e-6:
                earlier_low, earlier_high = self.bounds(target, "numbers", before)
                if high - low < earlier_high - earlier_low - 1e-6:
                    found.append(f"{name}: [{low:g}, {high:g}] from the numbers")
                continue
            m_low, m_high = self.bounds(target, "marks")
            c_low, c_high = self.bounds(target, "classes")
            want_low, want_high = max(c_low, lowest), min(c_high, k - 1)
            if m_low > want_low + 1e-6 or m_high < want_high - 1e-6:
                # Narrowed further: more of the small range it must cover is left out than before.
                # (A range that only shrinks outside it, as a cell's own `<k` mark shrinks it to at
                # most k - 1, gives nothing more away about the small values.)
                earlier_low, earlier_high = self.bounds(target, "marks", before)
                uncovered = max(0.0, m_low - want_low) + max(0.0, want_high - m_high)
                uncovered_before = max(0.0, earlier_low - want_low) + max(0.0, want_high - earlier_high)
                if uncovered > uncovered_before + 1e-6:
                    found.append(f"{name}: [{m_low:g}, {m_high:g}] with the marks, [{want_low:g}, {want_high:g}] "
                                 "without the numbers")
        return found


# ---- the worked examples of issue 17, on Eunomia ------------------------------------------------

Q4 = (REPO / "examples" / "q4_coronary_events.cohort").read_text()
Q4_WITHOUT_AGE = re.sub(r'include "age 40-79".*\n', "", Q4)
POLICY = DisclosurePolicy()


def _eunomia_releases(target, definitions: list[tuple[str, tuple[str, ...]]], *, ledger: bool) -> list[Released]:
    """Release each (definition, breakdown) in turn, checked against the ledger of the earlier ones or not."""
    earlier, released = [], []
    for number, (text, by) in enumerate(definitions, start=1):
        compiled = pipeline.compile_source(Source(f"request {number}", text))
        if ledger:
            checked = protect_against_ledger(compiled, target, POLICY, earlier, label=f"request {number}", by=by)
            assert checked.verdict.ok, checked.verdict.problems
            result = checked.result
            earlier.append(EarlierRelease(f"request {number}", text, by, POLICY.to_dict(), checked.cells))
        else:
            result = pipeline.run(compiled, target, POLICY, by=by)
        rows = QueryMemberships().person_rows(compiled, target, by)
        released.append(Released(result.to_dict(), rows))
    return released


def test_two_definitions_one_rule_apart(eunomia_target):
    plain = _eunomia_releases(eunomia_target, [(Q4, ()), (Q4_WITHOUT_AGE, ())], ledger=False)
    assert plain[0].document["attrition"][1]["gain"]["display"] == "<10"
    assert plain[0].document["final"]["value"] == 13 and plain[1].document["final"]["value"] == 18
    assert any(s.startswith("group of 5: [5, 5]") for s in JointIntruder(plain, POLICY).successes())  # 18 - 13
    guarded = _eunomia_releases(eunomia_target, [(Q4, ()), (Q4_WITHOUT_AGE, ())], ledger=True)
    assert guarded[1].document["final"]["display"] == ">=10"
    assert guarded[1].document["attrition"][0]["value"] == 191  # what was already known stays released
    assert JointIntruder(guarded, POLICY).successes() == []


@pytest.fixture(scope="module")
def synthetic_20k(tmp_path_factory):
    """The 20,000-person synthetic CDM the issue's attacks used (seed 42)."""
    from cohortql.execute.target import resolve_target
    from cohortql.fixtures.synthetic import generate

    return resolve_target(f"duckdb:///{generate(tmp_path_factory.mktemp('ledger') / 'cdm.duckdb', 20_000, seed=42)}")


@pytest.mark.parametrize("example, recovered", [
    ("q9_breast_cancer_chemo", {"group of 5: [5, 5]", "group of 9: [9, 9]", "group of 2: [2, 2]"}),
    ("q8_heart_failure", {"group of 2: [2, 2]"}),
])
def test_the_same_definition_by_age5_then_by_age10(synthetic_20k, example, recovered):
    text = (REPO / "examples" / f"{example}.cohort").read_text()
    text = re.sub(r"(?m)^breakdown by .*\n", "", text)
    plain = _eunomia_releases(synthetic_20k, [(text, ("age5",)), (text, ("age10",))], ledger=False)
    found = {s.split(" from")[0] for s in JointIntruder(plain, POLICY).successes()}
    assert recovered <= found  # suppressed age5 bands: 15 - 10, 19 - 10, 19 - 17 (q9); 39 - 37 (q8)
    guarded = _eunomia_releases(synthetic_20k, [(text, ("age5",)), (text, ("age10",))], ledger=True)
    assert JointIntruder(guarded, POLICY).successes() == []


def test_unrelated_releases_do_not_interact(eunomia_target):
    q1 = (REPO / "examples" / "q1_gi_bleed_nsaid.cohort").read_text()
    compiled = pipeline.compile_source(Source("q4", Q4))
    first = protect_against_ledger(pipeline.compile_source(Source("q1", q1)), eunomia_target, POLICY, [])
    earlier = [EarlierRelease("request 1", q1, (), POLICY.to_dict(), first.cells)]
    checked = protect_against_ledger(compiled, eunomia_target, POLICY, earlier)
    alone = pipeline.run(compiled, eunomia_target, POLICY)
    assert checked.verdict.hide == frozenset() and checked.result.to_dict() == alone.to_dict()


# ---- random populations and definitions -------------------------------------------------------


@dataclass(frozen=True)
class Population:
    ids: np.ndarray
    age: np.ndarray
    year: np.ndarray
    flags: np.ndarray  # persons x 4 booleans: criteria a definition may require or exclude


@st.composite
def populations(draw):
    n = draw(st.integers(40, 140))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    return Population(np.arange(1, n + 1, dtype=np.int64), rng.integers(18, 90, n), rng.integers(2000, 2004, n),
                      rng.random((n, 4)) < rng.uniform(0.2, 0.9, 4))


def _rows(population: Population, rules: list[tuple[str, int, bool]], last_year: int,
          strata: tuple[str, ...]) -> PersonRows:
    """A definition on the population: entry = indexed in or before `last_year`; each rule a criterion
    (`flag` j, or `age` below a bound), met when it holds (or, `negated`, when it does not)."""
    entered = population.year <= last_year
    masks = np.zeros(int(entered.sum()), dtype=np.int64)
    for bit, (kind, parameter, negated) in enumerate(rules):
        holds = population.flags[entered, parameter] if kind == "flag" else population.age[entered] < parameter
        masks |= (holds != negated).astype(np.int64) << bit
    values = []
    for age, year in zip(population.age[entered].tolist(), population.year[entered].tolist(), strict=True):
        by = {"age5": age // 5 * 5, "age10": age // 10 * 10, "year": year}
        values.append(tuple(by[name] for name in strata))
    count = len(masks)
    return PersonRows(tuple(f"rule {i + 1}" for i in range(len(rules))), strata, population.ids[entered], masks,
                      tuple(values), np.ones(count, dtype=np.int64))


rules_strategy = st.lists(st.one_of(st.tuples(st.just("flag"), st.integers(0, 3), st.booleans()),
                                    st.tuples(st.just("age"), st.integers(30, 80), st.booleans())),
                          min_size=1, max_size=3)


@st.composite
def release_series(draw):
    """A first definition and a series of variations a sponsor might ask for next."""
    rules = draw(rules_strategy)
    year = draw(st.integers(2000, 2003))
    series = [(rules, year, draw(st.sampled_from([(), ("age5",), ("age10",), ("year",)])))]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["drop a rule", "add a rule", "negate a rule", "nested breakdown",
                                     "time slice", "superset"]))
        base, base_year, _by = series[-1]
        if kind == "drop a rule" and len(base) > 1:
            i = draw(st.integers(0, len(base) - 1))
            series.append((base[:i] + base[i + 1:], base_year, ()))
        elif kind == "add a rule":
            series.append((base + draw(rules_strategy)[:1], base_year, ()))
        elif kind == "negate a rule":  # the complement of the last rule within the others
            kind_, parameter, negated = base[-1]
            series.append((base[:-1] + [(kind_, parameter, not negated)], base_year, ()))
        elif kind == "nested breakdown":
            series.append((base, base_year, ("age10",) if _by != ("age10",) else ("age5",)))
        elif kind == "time slice":
            series.append((base, min(base_year + 1, 2003), ()))
        else:  # superset: the entry step alone
            series.append((base[:1], base_year, ()))
    return series


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(population=populations(), series=release_series(), k=st.integers(3, 10), suppress_zero=st.booleans())
def test_no_small_group_can_be_narrowed_across_random_releases(population, series, k, suppress_zero):
    policy = DisclosurePolicy(threshold=k, suppress_zero=suppress_zero)
    earlier, released = [], []
    for number, (rules, year, by) in enumerate(series, start=1):
        rows = _rows(population, rules, year, by)
        if not len(rows.persons):
            continue
        checked, after = protect_rows(rows, policy, earlier, label=f"release {number}",
                                      rule_kinds=("include",) * len(rules), dimensions=by)
        if checked.result is None:  # refused, with a reason: nothing released
            assert checked.verdict.problems
            continue
        earlier.append(after)
        released.append(Released(checked.result.to_dict(), rows))
        if len(released) > 1:  # the first is held to the single-release guarantee (test_intruder.py)
            assert JointIntruder(released, policy).successes(beyond_earlier=True) == []
