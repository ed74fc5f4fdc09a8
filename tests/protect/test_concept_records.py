"""The concept report's record counts next to the count (`review show`): protected as one artifact.

On Eunomia, q5's entry concept set has 102 records and the count shows 100 entry events: with
every record count shown, 102 - 100 = 2 records (of a few persons) that did not become entries
would be known exactly. The intruder here reads only the displays: it bounds the records total
from the rows (a number, `<k`: 1..k-1, `>=k`: at least k) and subtracts the entry events shown.
"""

from __future__ import annotations

import math

import pytest

from cohortql import pipeline
from cohortql.protect import DisclosurePolicy
from cohortql.protect.concepts import protect_records
from tests.conftest import REPO

POLICY = DisclosurePolicy()


def _entry_rows(compiled, report):
    entry = {event.codeset_id for event in compiled.plan.entry.events}
    return [row for codeset, rows in report if codeset.id in entry for row in rows]


def _difference_range(rows, entries: int, marks: bool) -> tuple[float, float]:
    """The records of the entry concept set that are not entry events: what the displays allow."""
    low = high = 0.0
    for row in rows:
        display = row[-1]
        if display == "<10":
            low, high = low + (1 if marks else 0), high + (9 if marks else math.inf)
        elif display == ">=10":
            low, high = low + (10 if marks else 0), math.inf
        else:
            low, high = low + int(display.replace(",", "")), high + int(display.replace(",", ""))
    return max(0.0, low - entries), high - entries


@pytest.fixture(scope="module")
def q5(eunomia_target):
    compiled = pipeline.compile_source(pipeline.read_source(REPO / "examples" / "q5_anemia_hemoglobin.cohort"))
    return compiled, pipeline.run(compiled, eunomia_target, POLICY).to_dict()


def test_record_counts_next_to_the_count_do_not_give_away_their_difference(q5, eunomia_target):
    compiled, result = q5
    entries = result["entries"]["value"]
    assert entries == 100
    alone = _entry_rows(compiled, pipeline.concept_report(compiled, eunomia_target, POLICY))
    assert _difference_range(alone, entries, marks=False) == (2, 2)  # the attack, on the report shown alone
    together = _entry_rows(compiled, pipeline.concept_report(compiled, eunomia_target, POLICY, shown_with=result))
    low, high = _difference_range(together, entries, marks=False)
    assert high - low >= POLICY.threshold
    m_low, m_high = _difference_range(together, entries, marks=True)
    assert m_low <= POLICY.lowest_small and m_high >= POLICY.threshold - 1
    assert sum(row[-1] == ">=10" for row in together) == 1  # one row hidden, the largest
    largest = max(alone, key=lambda row: int(row[-1].replace(",", "")) if row[-1][0].isdigit() else -1)
    assert next(r for r in together if r[0] == largest[0])[-1] == ">=10"


@pytest.mark.parametrize("records, entries, expected", [
    ([500, 300], {"value": 795, "display": "795"}, [">=10", "300"]),  # 5 records short: the largest hidden
    ([500, 300], {"value": 700, "display": "700"}, ["500", "300"]),  # 100 short: not small, all shown
    ([500, 3], {"value": 497, "display": "497"}, [">=10", "<10"]),  # a small row marks T, not enough
    ([15, 12], {"value": None, "display": ">=10"}, ["15", "12"]),  # entries only >=10: 27 - E is 0..17
    ([500, 300], None, ["500", "300"]),  # not shown next to a count: rows alone
])
def test_rows_of_the_entry_concept_set(records, entries, expected):
    shown = protect_records(records, [1] * len(records), POLICY, entry_codesets=frozenset({1}), entries=entries)
    assert shown == expected


def test_other_concept_sets_are_only_suppressed_when_small():
    shown = protect_records([800, 3, 0], [2, 2, 2], POLICY, entry_codesets=frozenset({1}),
                            entries={"value": 795, "display": "795"})
    assert shown == ["800", "<10", "0"]
