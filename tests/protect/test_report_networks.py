"""The report's release (tables of no common stratum) judged on one flow network per component.

Random report-shaped releases: the attrition, by site (with site groups), by sex x age band and
by place x period, the three tables cut into two or three components tied by the final cohort.
With the final count released:
- every table count's fall and rise on its component's network equal its range from the linear
  program over the whole artifact (HiGHS, links included), in each state of knowledge;
- every sensitive count's verdict (its shortfall from the protection level) is the same whether
  the network or the linear program judges it, for random statuses;
- the statuses decided with the networks leave no sensitive count short when the linear program
  alone judges them. (The greedy's choices need not be the same: the two name different binding
  counts, so candidates are tried in another order: docs/disclosure.md gives how often.)
tests/protect/test_intruder.py attacks such releases independently (tables by site and by sex).
"""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohortql.counts import RawCounts
from cohortql.protect import Breakdown, DisclosurePolicy, Hierarchy
from cohortql.protect.artifact import Status
from cohortql.protect.intervals import Intruder, Knowledge
from cohortql.protect.network import ReleaseNetworks
from cohortql.protect.protector import build_artifact
from cohortql.protect.suppression import ProtectionCheck, decide, primary_statuses, sensitive_counts

SITES = ("A", "B", "C", "D")
GROUPS = {"A": "north", "B": "north", "C": "south", "D": "south"}
SEXES = ("F", "M")
AGES = (40, 50)
PERIODS = ("2025-Q1", "2025-Q2", "before")
FAR = 10**6
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}

sizes = st.one_of(st.just(0), st.just(0), st.integers(1, 9), st.integers(8, 40))


@st.composite
def report_releases(draw):
    """An artifact shaped like a report's release, its networks, a policy and random statuses."""
    n_rules = draw(st.integers(0, 1))
    sites = SITES[: draw(st.integers(1, 4))]
    rows = []
    for mask in range(2**n_rules):
        for _ in range(draw(st.integers(1, 10))):
            strata = (draw(st.sampled_from(sites)), draw(st.sampled_from(SEXES)), draw(st.sampled_from(AGES)),
                      draw(st.sampled_from(PERIODS)))
            size = draw(sizes)
            if size:
                rows.append((mask, strata, size, size))
    raw = RawCounts(tuple(f"rule {i + 1}" for i in range(n_rules)), ("site", "sex", "age10", "quarter"), tuple(rows))
    place = draw(st.sampled_from(["site", "site_group", None]))
    series = draw(st.sampled_from([("site", "quarter"), ("site_group", "quarter"), ("quarter",)]))
    if place is None:
        series = ("quarter",)
    elif place == "site_group" and series[0] == "site":
        series = ("site_group", "quarter")
    tables = [Breakdown(("sex", "age10")), Breakdown(series)]
    if place:
        tables.insert(0, Breakdown((place,)))
    grouped = place is not None and (place == "site_group" or "site_group" in series or draw(st.booleans()))
    hierarchies = (Hierarchy.of("site", "site_group", {s: GROUPS[s] for s in sites}),) if grouped else ()
    values = {"site": sites, "sex": SEXES, "age10": AGES, "quarter": PERIODS}
    artifact, cube = build_artifact(raw, tuple(tables), hierarchies, values)
    policy = DisclosurePolicy(threshold=draw(st.integers(2, 10)), suppress_zero=draw(st.booleans()))
    networks = ReleaseNetworks.of(artifact, cube, policy)
    assert networks is not None
    statuses = primary_statuses(artifact, policy)
    for index in networks.table:
        if statuses[index] is Status.RELEASED and artifact.quantities[index].value and draw(st.booleans()):
            statuses[index] = Status.COMPLEMENTARY
    return artifact, networks, policy, tuple(statuses)


@settings(max_examples=120, **SETTINGS)
@given(report_releases())
def test_each_components_network_gives_the_linear_program_ranges(drawn):
    artifact, networks, policy, statuses = drawn
    if statuses[networks.final] is not Status.RELEASED:
        return  # a small final count: the linear program judges the whole release
    intruder = Intruder(artifact, policy)
    for index in networks.table:
        if not networks.covers(index):
            continue  # another cut's grand total: the final count itself
        value = artifact.quantities[index].value
        for knowledge in Knowledge:
            key = None if knowledge is Knowledge.CLASSES else networks.key(index, statuses)
            expected = intruder.range(index, statuses, knowledge)
            moves = networks.moves(index, key, knowledge, FAR, FAR)
            name = artifact.quantities[index].keys[0]
            assert value - moves.down == expected.low, (name, knowledge)
            assert (value + moves.up if moves.up < FAR else math.inf) == expected.high, (name, knowledge)


@settings(max_examples=120, **SETTINGS)
@given(report_releases())
def test_verdicts_on_the_networks_are_the_linear_programs(drawn):
    artifact, networks, policy, statuses = drawn
    on_networks, by_program = ProtectionCheck(artifact, policy, networks), ProtectionCheck(artifact, policy)
    for index in sensitive_counts(artifact, policy):
        expected = by_program.verdict(index, statuses).shortfall
        assert abs(on_networks.verdict(index, statuses).shortfall - expected) < 1e-6, artifact.quantities[index].keys


@settings(max_examples=80, **SETTINGS)
@given(report_releases())
def test_the_networks_decision_protects_by_the_linear_program(drawn):
    artifact, networks, policy, _statuses = drawn
    decided = decide(artifact, policy, networks)
    judge = ProtectionCheck(artifact, policy)
    for index in sensitive_counts(artifact, policy):
        assert judge.verdict(index, decided).shortfall == 0, artifact.quantities[index].keys
