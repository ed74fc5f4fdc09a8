"""Search hits and related concepts are ordered on their counts as shown, never on the true ones.

The rows are what the database returns (the concept's ten columns, records, persons), written
here by hand: only the protect stage is under test. Two concepts whose true counts differ but
show alike (both `<10`, or both rounded to the same multiple) must come out in the same order,
by name, whichever is larger; the cut at `limit` then cannot tell them apart either.
"""

from __future__ import annotations

import pytest

from cohortql.protect import DisclosurePolicy
from cohortql.protect.vocabulary import protect_detail, protect_search


def row(concept_id: int, name: str, records: int, persons: int, standard: str | None = "S",
        domain: str = "Condition", code: str = "1") -> tuple:
    return (concept_id, name, domain, "SNOMED", "Clinical Finding", standard, code, "1970-01-01", "2099-12-31", None,
            records, persons)


def order(rows, policy, limit=10) -> list[int]:
    return [hit.concept.concept_id for hit in protect_search("cord", rows, policy, limit, None, {}).hits.items]


@pytest.mark.parametrize(("policy", "small", "large"), [
    (DisclosurePolicy(), (3, 7), (120, 50)),
    (DisclosurePolicy(rounding_base=5), (3, 9), (11, 12)),  # 11 and 12 both show as 10
])
def test_counts_shown_alike_are_ranked_alike(policy, small, large):
    for a, b in (small, small[::-1]):
        rows = [row(1, "b cord", a, a), row(2, "a cord", b, b), row(3, "c cord", 0, 0), row(4, "d cord", 40, 40)]
        assert order(rows, policy) == [4, 2, 1, 3]  # released first, then the two <10 by name, then 0
        assert order(rows, policy, limit=2) == [4, 2]
    if policy.rounding_base:
        for a, b in (large, large[::-1]):
            assert order([row(1, "b cord", a, 1), row(2, "a cord", b, 1)], policy) == [2, 1]


def test_a_suppressed_count_is_never_shown_nor_its_value_kept():
    hit = protect_search("cord", [row(1, "cord", 4, 2)], DisclosurePolicy(), 10, None, {}).hits.items[0]
    assert hit.records.to_dict() == {"value": None, "display": "<10"}
    assert hit.persons.to_dict() == {"value": None, "display": "<10"}
    assert "4" not in str(hit.to_dict()["records"]) and "2" not in str(hit.to_dict()["persons"])


def test_match_kinds_then_standard_first():
    rows = [row(1, "Spinal cord lesion", 500, 90), row(2, "Cord", 1, 1), row(3, "Cord injury", 0, 0, standard=None),
            row(4, "Cord injury of neck", 20, 20), row(5, "Cordotomy", 900, 9, code="cord"),
            row(6, "Umbilical cords", 30, 30)]
    hits = protect_search("cord", rows, DisclosurePolicy(), 10, None, {}).hits.items
    assert [(h.concept.concept_id, h.match) for h in hits] == [
        (5, "code"), (2, "name"), (4, "prefix"), (3, "prefix"), (1, "words"), (6, "contains")]


def test_descendants_nearest_first_then_shown_records():
    rows = [("concept", 0, 0, *row(1, "Root", 100, 50)[:12]),
            ("descendant", 2, 3, *row(2, "Far", 900, 90)[:12]),
            ("descendant", 1, 1, *row(3, "Near small", 8, 8)[:12]),
            ("descendant", 1, 1, *row(4, "Near big", 300, 30)[:12]),
            ("descendant", 1, 1, *row(5, "A near small", 2, 2)[:12])]
    detail = protect_detail(rows, DisclosurePolicy(), 10, {})
    assert [d.concept.concept_id for d in detail.descendants.items] == [4, 5, 3, 2]
    assert protect_detail(rows[1:], DisclosurePolicy(), 10, {}) is None  # no row of the concept itself
