"""From cached vectors to the one-pass result: rule masks, best entry per person, counts by strata.

The client-side twin of the cohort query's last steps (sql_templates/cohort.sql.j2, rule_results
to the final GROUP BY), in numpy: the same bitmask, the same choice of each person's best entry
(most rules met, then the lowest-numbered rule met, then the earliest entry), the same rows in
the same order. Persons are contiguous runs of entries (entries are numbered person by person).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cohortql.counts import RawCounts


@dataclass(frozen=True)
class Entries:
    """The entry events of a definition: how many, and each person's id and first entry.

    Person ids stay in the client's cache (to line variants up person by person); no output
    shows them."""

    count: int
    person_ids: np.ndarray  # int64, ascending, one per person with an entry
    person_starts: np.ndarray  # int64, where each person's run of entries starts

    @property
    def persons(self) -> int:
        return len(self.person_starts)

    def run_lengths(self) -> np.ndarray:
        return np.diff(np.append(self.person_starts, self.count))


@dataclass(frozen=True)
class Stratum:
    codes: np.ndarray  # int32 per entry, an index into values
    values: tuple  # the stratum's values as the database returned them (None for unknown)


def rule_bits(tests: list[np.ndarray], kinds: tuple[str, ...]) -> list[np.ndarray]:
    """What each rule says per entry: its test, negated for an exclusion rule."""
    return [~test if kind == "exclude" else test for test, kind in zip(tests, kinds, strict=True)]


def best_entries(entries: Entries, bits: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(index of each person's best entry, the rule mask of every entry)."""
    n = entries.count
    mask = np.zeros(n, dtype=np.int64)
    rules_met = np.zeros(n, dtype=np.int64)
    first_met = np.full(n, -1, dtype=np.int64)
    for j, bit in enumerate(bits):
        mask |= bit.astype(np.int64) << j
        rules_met += bit
        first_met = np.where((first_met < 0) & bit, j, first_met)
    first_met[first_met < 0] = 0  # as the query's CASE ... ELSE 0
    if n == 0:
        return np.zeros(0, dtype=np.int64), mask
    # Most rules met first, then the lowest-numbered rule met; entry order breaks ties (earliest).
    score = rules_met * 64 + (63 - first_met)
    lengths = entries.run_lengths()
    person_of = np.repeat(np.arange(entries.persons), lengths)
    best_score = np.maximum.reduceat(score, entries.person_starts)
    candidates = np.flatnonzero(score == best_score[person_of])
    owner = person_of[candidates]
    first_of_person = np.r_[True, owner[1:] != owner[:-1]]
    return candidates[first_of_person], mask


def best_masks(entries: Entries, tests: list[np.ndarray], kinds: tuple[str, ...]) -> np.ndarray:
    """The rule mask of each person's best entry (persons in `entries.person_ids` order)."""
    chosen, mask = best_entries(entries, rule_bits(tests, kinds))
    return mask[chosen]


def raw_counts(
    rule_names: tuple[str, ...],
    kinds: tuple[str, ...],
    entries: Entries,
    tests: list[np.ndarray],
    strata: dict[str, Stratum],
    nulls_first: bool = False,
) -> RawCounts:
    """RawCounts exactly as the one-pass query returns them (rows ordered by mask, then strata)."""
    names = tuple(strata)
    chosen, mask = best_entries(entries, rule_bits(tests, kinds))
    if len(chosen) == 0:
        return RawCounts(rule_names, names, ())
    # ORDER BY mask, strata: each stratum's codes ranked by their values' order (NULL's place as
    # the engine puts it), so that sorting ranks is sorting rows, in numpy (the report's strata
    # give tens of thousands of rows).
    values = [list(strata[name].values) for name in names]
    orders, ranks = [], []
    for known in values:
        order = sorted(range(len(known)), key=lambda code, known=known: _null_order(known[code], nulls_first))
        rank = np.empty(len(known), dtype=np.int64)
        rank[order] = np.arange(len(known))
        orders.append(order)
        ranks.append(rank)
    ranked = [rank[strata[name].codes[chosen]] for rank, name in zip(ranks, names, strict=True)]
    radices = [max(1, len(known)) for known in values]
    if (int(mask[chosen].max()) + 1) * math.prod(radices) < 2**62:
        # One int64 key per entry (mask, then each rank, in mixed radix): a 1-D unique is sorted rows.
        key = mask[chosen].astype(np.int64)
        for column, radix in zip(ranked, radices, strict=True):
            key = key * radix + column
        found, inverse, persons = np.unique(key, return_inverse=True, return_counts=True)
        digits = []
        for radix in reversed(radices):
            digits.append(found % radix)
            found = found // radix
        groups = np.column_stack([found, *reversed(digits)])
    else:  # too many rules for one key: unique rows, then sorted by rank
        groups, inverse, persons = np.unique(np.column_stack([mask[chosen], *ranked]), axis=0,
                                             return_inverse=True, return_counts=True)
    entry_counts = np.bincount(inverse.ravel(), weights=entries.run_lengths(), minlength=len(groups))
    rows = tuple(
        (group[0], tuple(known[order[rank]] for known, order, rank in zip(values, orders, group[1:], strict=True)),
         n, int(e))
        for group, n, e in zip(groups.tolist(), persons.tolist(), entry_counts.tolist(), strict=True)
    )
    return RawCounts(rule_names, names, rows)


def _null_order(value, nulls_first: bool) -> tuple:
    """ORDER BY's place for NULL: last on DuckDB and PostgreSQL, first on Spark."""
    if value is None:
        return (0, 0) if nulls_first else (1, 0)
    return (1, value) if nulls_first else (0, value)
