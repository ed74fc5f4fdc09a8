"""Which counts a release hides: small ones (primary), then enough others (complementary).

Protection level (docs/disclosure.md states it for readers): a sensitive count, one whose true
value is small (lowest_small..k-1), shown or derivable, is protected when
  (1) from the released numbers and the structure alone, its range is at least k wide
      (the sliding protection level of tau-argus and sdcTable, with SPL = k), and
  (2) reading the marks as well (`<k`, `>=k`), its range still covers every small value that
      the marks and the structure alone would allow: the numbers narrow it no further.
Hiding a released count only widens every range (its equality becomes `>= k`, which its true
value meets), so a count once protected stays protected, and hiding everything shown meets both
conditions. The greedy below therefore always ends, usually after very few hidden counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from cohortql.protect.artifact import Artifact, Status
from cohortql.protect.intervals import Intruder, IntruderModelError, Knowledge
from cohortql.protect.network import ReleaseNetworks
from cohortql.protect.policy import DisclosurePolicy

_TOLERANCE = 1e-6
_MAX_TRIALS = 12  # candidates tried per step, cheapest first


@dataclass(frozen=True)
class Verdict:
    shortfall: float  # how far the count is from its protection level; 0 when protected
    binding: frozenset[int]  # released counts whose numbers hold the range in
    # When protected: the counts whose status the proof depends on (None: any count's may).
    support: frozenset[int] | None = None


class ProtectionCheck:
    """The protection level of each sensitive count, for any choice of statuses.

    With the final count released and tables that are networks (`network.py`), each component's
    counts are judged on its network and the attrition's by the linear program, each depending
    only on its own side's statuses; otherwise everything is judged by the linear program.
    """

    def __init__(self, artifact: Artifact, policy: DisclosurePolicy, network: ReleaseNetworks | None = None):
        self.policy = policy
        self.intruder = Intruder(artifact, policy)
        self.network = network
        self._values = [q.value for q in artifact.quantities]
        table = set(network.table) if network else set()
        self._attrition = tuple(i for i in range(len(artifact.quantities)) if i not in table)
        if network:
            # The attrition's own linear program: the final cohort as one block (its table decided apart).
            final_blocks = artifact.quantities[network.final].blocks
            merged, kept = artifact.merged(final_blocks, network.apart)
            self._attrition_intruder = Intruder(merged, policy)
            self._merged_index = {index: n for n, index in enumerate(kept)}
            self._kept = kept
        self._verdicts: dict = {}

    def split(self, statuses: tuple[Status, ...]) -> bool:
        """Whether the table and the attrition are independent: the final count, their only link, is released."""
        return self.network is not None and statuses[self.network.final] is Status.RELEASED

    def side(self, index: int, statuses: tuple[Status, ...]) -> frozenset[int] | None:
        """The counts whose status can change the range of `index` (None: any count can)."""
        if not self.split(statuses):
            return None
        if self.network.covers(index) or index in self.network.totals:
            return self.network.side(index)
        return frozenset(self._attrition) - {self.network.final}

    def verdict(self, index: int, statuses: tuple[Status, ...]) -> Verdict:
        if not self.split(statuses) or index in self.network.totals:
            return self._linear_verdict(self.intruder, index, statuses)
        on_table = self.network.covers(index)
        key = (index, self.network.key(index, statuses) if on_table else tuple(statuses[i] for i in self._kept))
        if key not in self._verdicts:
            if on_table:
                self._verdicts[key] = self._table_verdict(index, key[1])
            else:
                verdict = self._linear_verdict(self._attrition_intruder, self._merged_index[index], key[1])
                binding = frozenset(self._kept[i] for i in verdict.binding)
                self._verdicts[key] = Verdict(verdict.shortfall, binding)
        return self._verdicts[key]

    def _linear_verdict(self, intruder: Intruder, index: int, statuses: tuple[Status, ...]) -> Verdict:
        k, lowest = self.policy.threshold, self.policy.lowest_small
        numbers = intruder.range(index, statuses, Knowledge.NUMBERS)
        shortfall, binding = max(0.0, k - numbers.width), frozenset()
        if shortfall > _TOLERANCE:
            binding = numbers.binding
        marks = intruder.range(index, statuses, Knowledge.MARKS)
        low, high = lowest, k - 1
        if marks.low > low + _TOLERANCE or marks.high < high - _TOLERANCE:
            # Against the whole release, whichever program judges the count (statuses play no part).
            full_index = index if intruder is self.intruder else self._kept[index]
            alone = self.intruder.range(full_index, statuses, Knowledge.CLASSES)
            low, high = max(alone.low, lowest), min(alone.high, k - 1)
        narrowed = max(0.0, marks.low - low) + max(0.0, high - marks.high)
        if narrowed > _TOLERANCE:
            shortfall += narrowed
            binding |= marks.binding
        return Verdict(shortfall if shortfall > _TOLERANCE else 0.0, binding)

    def _table_verdict(self, index: int, key: tuple[Status, ...]) -> Verdict:
        """The same two conditions as `_linear_verdict`, on the network: integers, moves capped at
        what the conditions ask (k in all for the numbers; down to lowest and up to k-1 with the marks)."""
        k, lowest, value = self.policy.threshold, self.policy.lowest_small, self._values[index]
        numbers = self.network.moves(index, key, Knowledge.NUMBERS, k, k)
        shortfall = max(0, k - numbers.down - numbers.up)
        binding = numbers.binding if shortfall else frozenset()
        want_down, want_up = value - lowest, k - 1 - value
        marks = self.network.moves(index, key, Knowledge.MARKS, want_down, want_up)
        if marks.down < want_down or marks.up < want_up:
            alone = self.network.moves(index, None, Knowledge.CLASSES, want_down, want_up)
            narrowed = max(0, alone.down - marks.down) + max(0, alone.up - marks.up)
            if narrowed:
                shortfall += narrowed
                binding |= marks.binding
        # Protected by moves that use only these counts' edges: they stand while these keep their statuses.
        support = None if shortfall else numbers.support | marks.support
        return Verdict(float(shortfall), binding, support)


def sensitive_counts(artifact: Artifact, policy: DisclosurePolicy) -> list[int]:
    """Small counts that must be protected: shown ones, and derivable ones under the difference rule."""
    chosen = [
        i for i, q in enumerate(artifact.quantities)
        if policy.is_small(q.value) and q.blocks and (q.shown or policy.attrition_differences)
    ]
    # Derived counts first: the gains hidden for them often protect the shown ones for free.
    return sorted(chosen, key=lambda i: (artifact.quantities[i].shown, artifact.quantities[i].value))


def primary_statuses(artifact: Artifact, policy: DisclosurePolicy) -> list[Status]:
    return [
        Status.DERIVED if not q.shown else Status.PRIMARY if policy.is_small(q.value) else Status.RELEASED
        for q in artifact.quantities
    ]


def decide(
    artifact: Artifact, policy: DisclosurePolicy, network: ReleaseNetworks | None = None
) -> tuple[Status, ...]:
    """The status of every count: primary suppression, then greedy complementary suppression.

    `network`: the artifact's breakdown table as a flow network, if it is one (faster, same ranges).
    """
    statuses = primary_statuses(artifact, policy)
    if not policy.complementary:
        return tuple(statuses)
    check = ProtectionCheck(artifact, policy, network)
    sensitive = sensitive_counts(artifact, policy)
    for index in sensitive:
        while (verdict := check.verdict(index, tuple(statuses))).shortfall:
            choice = _complement(artifact, check, index, verdict, statuses)
            if choice is None:
                raise IntruderModelError(f"cannot protect {artifact.quantities[index].keys[0]}")
            statuses[choice] = Status.COMPLEMENTARY
    return _prune(artifact, check, sensitive, statuses)


def _prune(artifact, check, sensitive, statuses) -> tuple[Status, ...]:
    """Release again every complementary count the others made unnecessary, costliest first."""
    hidden = [i for i, status in enumerate(statuses) if status is Status.COMPLEMENTARY]
    if len(hidden) < 2:
        return tuple(statuses)  # releasing the only one would undo what made it necessary
    for i in sorted(hidden, key=lambda i: (-artifact.quantities[i].cost, -artifact.quantities[i].value)):
        trial = list(statuses)
        trial[i] = Status.RELEASED
        blocks = artifact.quantities[i].blocks
        side = check.side(i, tuple(statuses))  # the other side's ranges cannot depend on count i
        affected = [j for j in sensitive if (side is None or j in side) and _may_need(check, j, i, statuses)]
        nearest = sorted(affected, key=lambda j: not artifact.quantities[j].blocks & blocks)  # likeliest to fail
        if not any(check.verdict(index, tuple(trial)).shortfall for index in nearest):
            statuses = trial
    return tuple(statuses)


def _may_need(check, j, i, statuses) -> bool:
    """Whether count j's protection may rest on count i staying hidden (False: its proof does not use i)."""
    now = check.verdict(j, tuple(statuses))
    return now.shortfall > 0 or now.support is None or i in now.support


def _complement(artifact, check, index, verdict, statuses) -> int | None:
    """The next count to hide for `index`: the best ratio of cost to the shortfall it removes.

    A count that protects alone scores its cost; one that only narrows the shortfall scores its
    cost divided by the share it removes, so two cheap steps can beat hiding the final count.
    Counts on the other side of a released final count cannot help and are not tried; the final
    count itself is tried only when nothing on the count's own side helps.
    """
    side = check.side(index, tuple(statuses))
    choice = _best_complement(artifact, check, index, verdict, statuses, side)
    if choice is None and side is not None:
        choice = _best_complement(artifact, check, index, verdict, statuses, None)
    return choice


def _best_complement(artifact, check, index, verdict, statuses, side) -> int | None:
    quantities = artifact.quantities
    target = quantities[index]
    candidates = [
        i for i, q in enumerate(quantities)
        if statuses[i] is Status.RELEASED and q.value > 0  # a released 0 is never hidden: it protects nothing
        and (side is None or i in side)
    ]
    related = [i for i in candidates if i in verdict.binding or quantities[i].blocks & target.blocks]
    related.sort(key=lambda i: (quantities[i].cost, i not in verdict.binding, quantities[i].value))
    best, best_score = None, None
    for i in related[:_MAX_TRIALS]:
        trial = list(statuses)
        trial[i] = Status.COMPLEMENTARY
        removed = verdict.shortfall - check.verdict(index, tuple(trial)).shortfall
        if removed <= _TOLERANCE:
            continue
        score = (quantities[i].cost * verdict.shortfall / removed, quantities[i].value)
        if best_score is None or score < best_score:
            best, best_score = i, score
        if removed >= verdict.shortfall - _TOLERANCE:
            break  # protects alone: no later (costlier) candidate can score better
    if best is not None:
        return best
    if side is not None:
        return None  # nothing on this side helps: the caller tries every count
    pool = related or candidates
    return min(pool, key=lambda i: (quantities[i].cost, quantities[i].value)) if pool else None
