"""The intruder on a breakdown table without a linear program: exact ranges by augmenting paths.

Once the final count is released, the breakdown table and the attrition share nothing else (the
table's counts cover only the final cohort, the attrition's cover all of it or none of it), so
the table's ranges can be computed on the table alone. A table of one or two strata, one of them
grouped (care sites within site groups), with all its margins, is a flow network: every block
of people (a cell of the final cohort's cube) is one unit of a path

    source -> group -> site -> (group, column) -> column -> sink -> source

and every count of the table is the flow on one edge (a site's total on group -> site, a group's
subtotal in a column on (group, column) -> column, the final count on sink -> source). A table
consistent with the release is a circulation within each edge's bounds: a released count is
fixed, a mark gives its interval (`<k`: lowest small..k-1, `>=k`: k and up), anything else is
only >= 0. From the true table, a count can fall by the most flow that can be rerouted from its
edge's tail to its head around it, and rise by the most that can go round the other way: by
max-flow min-cut this is exactly the intruder's linear program (which is integral on a network).
Frechet bounds tightened by the shuttle algorithm (tau-argus) give outer bounds only, which can
be wider than the true range and so cannot prove protection; augmenting paths give the exact
range, and stop as soon as the protection level is reached (a few paths of a small graph).

Tables of three or more strata are not networks: `TableNetwork.of` returns None and the linear
program answers for them.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Hashable
from typing import NamedTuple

from cohortql.protect.artifact import Artifact, Status
from cohortql.protect.intervals import Knowledge
from cohortql.protect.policy import DisclosurePolicy
from cohortql.protect.tables import FinalCohortCube

_SOURCE, _SINK = ("source",), ("sink",)
_FAR = 10**12  # a cap no count reaches: a move this far is unbounded


def _edges(cube: FinalCohortCube, component: int) -> list[tuple[Hashable, Hashable, frozenset]] | None:
    """(tail, head, cube blocks) of every edge of one component's table, or None when it is not a network."""
    strata = list(cube.components[component])
    grouped = [name for name in strata if name in cube.hierarchies]
    if len(strata) not in (1, 2) or len(grouped) > 1:
        return None  # a table of three strata: the linear program
    if grouped and strata[0] != grouped[0]:
        strata.reverse()  # the grouped stratum is the rows
    rows = cube.values[strata[0]]
    columns = cube.values[strata[1]] if len(strata) == 2 else [None]
    parent = dict(cube.hierarchies[strata[0]].parent_of) if grouped else {}
    group_of = parent.get  # None: no hierarchy, or a site of no known group

    def cell(row, column) -> tuple:
        combo = (row,) if len(strata) == 1 else (row, column)
        return ("final", component, combo if list(cube.components[component]) == strata else combo[::-1])

    edges = [(_SINK, _SOURCE, frozenset(cell(r, c) for r in rows for c in columns))]
    for group in dict.fromkeys(group_of(r) for r in rows):
        members = [r for r in rows if group_of(r) == group]
        edges.append((_SOURCE, ("group", group), frozenset(cell(r, c) for r in members for c in columns)))
        for column in columns if len(strata) == 2 else ():
            edges.append((("group", group, column), ("column", column), frozenset(cell(r, column) for r in members)))
    for row in rows:
        group = ("group", group_of(row))
        if len(strata) == 1:
            edges.append((group, _SINK, frozenset([cell(row, None)])))
            continue
        edges.append((group, ("row", row), frozenset(cell(row, c) for c in columns)))
        for column in columns:
            edges.append((("row", row), ("group", group_of(row), column), frozenset([cell(row, column)])))
    for column in columns if len(strata) == 2 else ():
        edges.append((("column", column), _SINK, frozenset(cell(r, column) for r in rows)))
    return edges


class Moves(NamedTuple):
    down: float  # how far the count can fall (up to the cap asked)
    up: float  # how far it can rise (up to the cap asked)
    binding: frozenset[int]  # released counts that stop a move short of its cap (hiding one may free it)
    support: frozenset[int]  # counts on the edges the moves use: only their statuses can undo the moves


class ReleaseNetworks:
    """Every breakdown table of a release as flow networks: one per component of the cube.

    Tables with no stratum in common (by site x month, by sex x age band) are cut into blocks
    apart, tied only by adding up to the same final cohort (`FinalCohortCube.links`). Once the
    final count is released, that tie is a known number: each component's grand total is fixed
    at it, and the components are as independent of each other as the table is of the
    attrition. Each is then judged on its own network (its total's edge owned by the final
    count), depending only on its own counts' statuses. Under CLASSES the final count's value is
    unknown and the components bound it together: each component network's total edge is held to
    the totals every component allows (exact, since the joint polytope is the components' joined
    at their total).
    """

    @classmethod
    def of(cls, artifact: Artifact, cube: FinalCohortCube, policy: DisclosurePolicy) -> ReleaseNetworks | None:
        """The networks of the artifact's tables, or None if it has none or one is no network.

        The components' blocks are the artifact's first blocks, in the cube's order (build_artifact).
        Every count over a component's blocks must be an edge of its network; anything else (a count
        over blocks of two components, or over some of the final cohort and other blocks) means the
        artifact is not shaped as expected, and the linear program answers.
        """
        if not cube.breakdowns:
            return None
        edges = [_edges(cube, c) for c in range(len(cube.components))]
        if any(found is None for found in edges):
            return None
        block_of = {key: index for index, key in enumerate(cube.blocks())}  # ("final", component, combo)
        component_of = {index: key[1] for key, index in block_of.items()}
        whole = [frozenset(i for key, i in block_of.items() if key[1] == c) for c in range(len(edges))]
        positions: list[dict[frozenset, list[int]]] = []
        for component in edges:
            by_blocks: dict[frozenset, list[int]] = {}
            for position, (_t, _h, cells) in enumerate(component):
                by_blocks.setdefault(frozenset(block_of[c] for c in cells), []).append(position)
            positions.append(by_blocks)
        owners: list[dict[int, int]] = [{} for _ in edges]  # per component: edge -> the quantity on it
        tables: list[list[int]] = [[] for _ in edges]
        totals, final = [], None
        for index, quantity in enumerate(artifact.quantities):
            touched = {component_of[b] for b in quantity.blocks if b in component_of}
            if not touched:
                continue  # an attrition count with none of the final cohort
            if len(touched) > 1:
                return None
            (c,) = touched
            inside = quantity.blocks & whole[c]
            if c == 0 and inside == whole[0] and quantity.blocks != inside:
                continue  # an attrition count with all of the final cohort
            if quantity.blocks != inside or inside not in positions[c]:
                return None
            if inside == whole[0]:
                final = index
            elif inside == whole[c]:
                totals.append(index)  # another cut of the final cohort: its edge is the final count's
            else:
                tables[c].append(index)
                for position in positions[c][inside]:
                    owners[c][position] = index
        if final is None:
            return None
        for c, owner in enumerate(owners):
            for position in positions[c][whole[c]]:  # sink -> source (and any edge as wide): the final count
                owner[position] = final
        networks = [TableNetwork(artifact, policy, e, o, t, final, block_of)
                    for e, o, t in zip(edges, owners, tables, strict=True)]
        return cls(networks, final, totals, frozenset().union(*whole[1:]))

    def __init__(self, networks: list[TableNetwork], final: int, totals: list[int], apart: frozenset[int]):
        self.networks = networks
        self.final = final
        self.apart = apart  # the blocks of every component but the first (whose blocks are the final count's)
        self.totals = frozenset(totals)  # the other components' grand totals: the final count again
        self._network_of = {index: network for network in networks for index in network.table}
        self.table = (*self._network_of, *totals)  # every count on a network (the final count excluded)
        self._sides = {id(network): frozenset(network.table) for network in networks}
        if len(networks) > 1:
            self._bound_total()

    def _bound_total(self) -> None:
        """Under CLASSES: the final count's edge in every network held to the totals all of them allow."""
        low, high = 0.0, math.inf
        for network in self.networks:
            value = network.artifact.quantities[self.final].value
            moves = network.moves(self.final, None, Knowledge.CLASSES, _FAR, _FAR)
            low = max(low, value - moves.down)
            high = min(high, value + moves.up if moves.up < _FAR else math.inf)
        for network in self.networks:
            network.bound_total((low, high))

    def covers(self, index: int) -> bool:
        return index in self._network_of

    def side(self, index: int) -> frozenset[int]:
        """The counts whose statuses the range of table count `index` depends on (its component's)."""
        if index in self.totals:
            return frozenset()  # the final count's value, released: nothing depends on its status
        return self._sides[id(self._network_of[index])]

    def key(self, index: int, statuses: tuple[Status, ...]) -> tuple[Status, ...]:
        """The part of the statuses the range of table count `index` depends on."""
        return self._network_of[index].key(statuses)

    def moves(
        self, index: int, key: tuple[Status, ...] | None, knowledge: Knowledge, down_cap: float, up_cap: float
    ) -> Moves:
        return self._network_of[index].moves(index, key, knowledge, down_cap, up_cap)


class TableNetwork:
    """One component's table as edges of a flow network; ranges under any statuses, capped where enough."""

    def __init__(self, artifact, policy, edges, owner, table, final, block_of):
        self.artifact = artifact
        self.policy = policy
        self.table = tuple(table)  # indices of the table's counts (the final count excluded)
        self._pick = operator.itemgetter(*table) if len(table) > 1 else lambda s: tuple(s[i] for i in table)
        self.final = final
        nodes = {node: n for n, node in enumerate(dict.fromkeys(x for t, h, _c in edges for x in (t, h)))}
        self._tail = [nodes[t] for t, _h, _c in edges]
        self._head = [nodes[h] for _t, h, _c in edges]
        values = artifact.block_values
        self._flow = [sum(values[block_of[c]] for c in cells) for _t, _h, cells in edges]
        self._owner = [owner.get(e) for e in range(len(edges))]
        self._edges_of: dict[int, list[int]] = {}
        for e, index in enumerate(self._owner):
            if index is not None:
                self._edges_of.setdefault(index, []).append(e)
        self._edge_of = {index: edges[0] for index, edges in self._edges_of.items()}
        # Arcs of the residual network: 2e moves more flow along edge e, 2e + 1 moves some back.
        self._arcs: list[list[tuple[int, int]]] = [[] for _ in nodes]  # node -> (arc, the node it leads to)
        for e in range(len(edges)):
            self._arcs[self._tail[e]].append((2 * e, self._head[e]))
            self._arcs[self._head[e]].append((2 * e + 1, self._tail[e]))
        self._released = []  # each arc's room with every count released: edges without a count only
        for index, flow in zip(self._owner, self._flow, strict=True):
            free = index is None or not artifact.quantities[index].shown
            self._released += [math.inf, flow] if free else [0, 0]
        self._spares: dict = {}
        self._classes: dict = {}
        self._total_classes: tuple[float, float] | None = None

    def bound_total(self, bounds: tuple[float, float]) -> None:
        """What the whole release says of the final count under CLASSES (other components bound it)."""
        self._total_classes = bounds
        self._spares.clear()
        self._classes.clear()

    def covers(self, index: int) -> bool:
        return index in self._edge_of and index != self.final

    def key(self, statuses: tuple[Status, ...]) -> tuple[Status, ...]:
        """The part of the statuses the table's ranges depend on (the final count is released)."""
        return self._pick(statuses)

    def _bounds(self, index: int, status: Status | None, knowledge: Knowledge) -> tuple[float, float]:
        """What the release says of count `index` (status None: its class, under CLASSES)."""
        k, lowest = self.policy.threshold, self.policy.lowest_small
        value = self.artifact.quantities[index].value
        if knowledge is Knowledge.CLASSES:
            if index == self.final and self._total_classes is not None:
                return self._total_classes
            return (lowest, k - 1) if self.policy.is_small(value) else (0, 0) if value == 0 else (k, math.inf)
        if status is Status.RELEASED:
            return value, value
        if knowledge is Knowledge.MARKS:
            return (lowest, k - 1) if status is Status.PRIMARY else (k, math.inf)
        return 0, math.inf

    def _spare(self, key: tuple[Status, ...] | None, knowledge: Knowledge) -> list[float]:
        """Each arc's room from the true table: upper bound - count along an edge, count - lower back."""
        cache_key = (knowledge, key)
        if cache_key in self._spares:
            return self._spares[cache_key]
        spare = list(self._released)
        if knowledge is Knowledge.CLASSES:
            changed = [(i, None) for i in (*self.table, self.final) if self.artifact.quantities[i].shown]
        else:
            changed = [(i, status) for i, status in zip(self.table, key, strict=True) if status is not Status.RELEASED]
        for index, status in changed:
            low, high = self._bounds(index, status, knowledge)
            for e in self._edges_of[index]:
                spare[2 * e], spare[2 * e + 1] = high - self._flow[e], self._flow[e] - low
        self._spares[cache_key] = spare
        return spare

    def moves(
        self, index: int, key: tuple[Status, ...] | None, knowledge: Knowledge, down_cap: float, up_cap: float
    ) -> Moves:
        """How far count `index` can fall and rise from its true value, each capped.

        Under CLASSES (statuses play no part) the answer is kept per count."""
        if knowledge is Knowledge.CLASSES and (index, down_cap, up_cap) in self._classes:
            return self._classes[(index, down_cap, up_cap)]
        spare = self._spare(key, knowledge)
        e = self._edge_of[index]
        binding: set[int] = set()
        used: set[int] = {e}
        down = self._reroute(self._tail[e], self._head[e], e, min(down_cap, spare[2 * e + 1]), spare, binding, used)
        up = self._reroute(self._head[e], self._tail[e], e, min(up_cap, spare[2 * e]), spare, binding, used)
        support = frozenset(self._owner[u] for u in used if self._owner[u] is not None)
        answer = Moves(down, up, frozenset(binding), support)
        if knowledge is Knowledge.CLASSES:
            self._classes[(index, down_cap, up_cap)] = answer
        return answer

    def _reroute(self, start, goal, skip, cap, spare, binding: set[int], used: set[int]) -> float:
        """The most flow (up to `cap`) that can go from `start` to `goal` without edge `skip`; adds the
        edges it moves flow on to `used`, and if it falls short, the released counts in its way to `binding`."""
        if cap <= 0:
            return 0
        spare = list(spare)
        spare[2 * skip] = spare[2 * skip + 1] = 0
        arcs = self._arcs
        moved = 0
        while moved < cap:
            via = {start: None}  # node -> the arc that reached it
            queue = deque([start])
            while queue and goal not in via:
                for arc, nxt in arcs[queue.popleft()]:
                    if spare[arc] > 0 and nxt not in via:
                        via[nxt] = arc
                        queue.append(nxt)
            if goal not in via:
                # The cut around what was reached: released counts crossing it hold the move in.
                for e, index in enumerate(self._owner):
                    if index is not None and spare[2 * e] == spare[2 * e + 1] == 0 and e != skip \
                            and (self._tail[e] in via) != (self._head[e] in via):
                        binding.add(index)
                break
            path, node = [], goal
            while (arc := via[node]) is not None:
                path.append(arc)
                node = self._tail[arc // 2] if arc % 2 == 0 else self._head[arc // 2]
            step = min(cap - moved, *(spare[arc] for arc in path))
            for arc in path:
                spare[arc] -= step
                spare[arc ^ 1] += step
                used.add(arc // 2)
            moved += step
        return moved
