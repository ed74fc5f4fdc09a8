"""The breakdown table's flow network gives the intruder's linear program's ranges, exactly.

For random tables (site x sex with or without site groups, site alone, sex alone), random
statuses and each state of knowledge, every table count's fall and rise on the network
(`TableNetwork.moves`, capped far away) equal its range from the linear program over the whole
artifact (`Intruder.range`, HiGHS), attrition included: with the final count released, the
table's ranges do not depend on the attrition. Tables of three strata have no network.
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
from cohortql.protect.suppression import primary_statuses

SITES = ("A", "B", "C", "D", "E")
GROUPS = {"A": "north", "B": "north", "C": "south", "D": "south", "E": "south"}
SEXES = ("F", "M")
FAR = 10**6  # a cap no range of these tables reaches

sizes = st.one_of(st.just(0), st.integers(1, 12), st.integers(10, 60))


@st.composite
def released_tables(draw):
    """An artifact with one table, its network, and statuses: small counts marked, some others hidden."""
    n_rules = draw(st.integers(0, 2))
    sites = SITES[: draw(st.integers(1, 5))]
    rows = [
        (mask, (site, sex), size, size)
        for mask in range(2**n_rules) for site in sites for sex in SEXES
        if (size := draw(sizes))
    ]
    raw = RawCounts(tuple(f"rule {i + 1}" for i in range(n_rules)), ("site", "sex"), tuple(rows))
    by = draw(st.sampled_from([("site", "sex"), ("site",), ("sex",), ("site_group", "sex"), ("site_group",)]))
    grouped = "site_group" in by or draw(st.booleans())
    hierarchies = (Hierarchy.of("site", "site_group", {s: GROUPS[s] for s in sites}),) if grouped else ()
    artifact, cube = build_artifact(raw, (Breakdown(by),), hierarchies, {"site": sites, "sex": SEXES})
    policy = DisclosurePolicy(threshold=draw(st.integers(2, 12)), suppress_zero=draw(st.booleans()))
    network = ReleaseNetworks.of(artifact, cube, policy)
    statuses = primary_statuses(artifact, policy)
    for index in network.table:
        if statuses[index] is Status.RELEASED and artifact.quantities[index].value and draw(st.booleans()):
            statuses[index] = Status.COMPLEMENTARY
    return artifact, network, policy, tuple(statuses)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(released_tables())
def test_network_ranges_are_the_linear_program_ranges(drawn):
    artifact, network, policy, statuses = drawn
    if statuses[network.final] is not Status.RELEASED:
        return  # a small final count: the linear program judges the whole release
    intruder = Intruder(artifact, policy)
    for index in network.table:
        key = network.key(index, statuses)
        value = artifact.quantities[index].value
        for knowledge in Knowledge:
            expected = intruder.range(index, statuses, knowledge)
            moves = network.moves(index, None if knowledge is Knowledge.CLASSES else key, knowledge, FAR, FAR)
            assert value - moves.down == expected.low, (artifact.quantities[index].keys[0], knowledge)
            high = value + moves.up if moves.up < FAR else math.inf
            assert high == expected.high, (artifact.quantities[index].keys[0], knowledge)


def test_a_table_of_three_strata_has_no_network():
    raw = RawCounts((), ("site", "sex", "age10"), ((0, ("A", "F", 20), 5, 5), (0, ("B", "M", 30), 40, 40)))
    artifact, cube = build_artifact(raw, (Breakdown(("site", "sex", "age10")),))
    assert ReleaseNetworks.of(artifact, cube, DisclosurePolicy()) is None


def test_a_move_is_stopped_by_the_released_counts_around_it():
    """Two small cells in one row: the row total and both columns released pin them (range 0 wide);
    the counts that stop the moves are named, so hiding them is tried first."""
    raw = RawCounts((), ("site", "sex"), ((0, ("A", "F"), 3, 3), (0, ("A", "M"), 4, 4), (0, ("B", "F"), 50, 50),
                                          (0, ("B", "M"), 60, 60)))
    artifact, cube = build_artifact(raw, (Breakdown(("site", "sex")),), (), {"site": ("A", "B"), "sex": SEXES})
    policy = DisclosurePolicy()
    network = ReleaseNetworks.of(artifact, cube, policy)
    statuses = tuple(primary_statuses(artifact, policy))
    small = next(i for i in network.table if artifact.quantities[i].value == 3)
    moves = network.moves(small, network.key(small, statuses), Knowledge.NUMBERS, 10, 10)
    assert (moves.down, moves.up) == (0, 0)
    stoppers = {artifact.quantities[i].keys[0].split("/")[-1] for i in moves.binding}
    assert any("'B'" in name for name in stoppers), stoppers  # site B's cells and total can let A's move
