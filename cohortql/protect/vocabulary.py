"""Vocabulary look-ups protected (`cohortql concepts search` and `show`), and ranked on what is shown.

Each concept comes with its records and distinct persons in the CDM, two counts shown by
themselves (no total or margin of them is shown), so each is protected alone: `<k` when small,
else released (`shown_alone`). The order is decided afterwards, on the shown values only: two
small concepts are tied whatever their true counts, and a list cut at `--limit` is cut on the
shown order, so neither the order nor what is left out tells one small count from another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cohortql.omop import CONCEPT_DOMAINS, Concept
from cohortql.protect.concepts import shown_alone
from cohortql.protect.policy import DisclosurePolicy
from cohortql.protect.result import Cell

# How a concept matches the search text, best first.
MATCHES = ("code", "name", "prefix", "words", "contains")
_COUNTED_DOMAINS = frozenset(d.vocabulary_domain for d in CONCEPT_DOMAINS.values())


@dataclass(frozen=True)
class ShownConcept:
    """A concept with its protected counts; None where its domain has no table of records."""

    concept: Concept
    records: Cell | None
    persons: Cell | None
    match: str | None = None  # search hits: one of MATCHES
    levels: tuple[int, int] | None = None  # ancestors and descendants: (min, max) levels of separation

    def to_dict(self) -> dict:
        shown = {**self.concept.to_dict(),
                 "records": self.records.to_dict() if self.records else None,
                 "persons": self.persons.to_dict() if self.persons else None}
        if self.match is not None:
            shown["match"] = self.match
        if self.levels is not None:
            shown["min_levels_of_separation"], shown["max_levels_of_separation"] = self.levels
        return shown


@dataclass(frozen=True)
class ConceptList:
    """The first concepts of a list in the shown order, and how many more the list holds."""

    items: tuple[ShownConcept, ...]
    more: int

    def to_dict(self) -> dict:
        return {"concepts": [c.to_dict() for c in self.items], "more": self.more}


@dataclass(frozen=True)
class SearchResult:
    text: str
    hits: ConceptList
    capped: int | None  # more candidates than this matched: only this many were ranked
    policy: DisclosurePolicy
    database: dict
    policy_note: str | None = None

    def to_dict(self) -> dict:
        return {"search": self.text, "hits": [c.to_dict() for c in self.hits.items], "more": self.hits.more,
                "candidates_capped_at": self.capped, "policy": self.policy.to_dict(),
                **({"policy_note": self.policy_note} if self.policy_note else {}), "database": self.database}


@dataclass(frozen=True)
class ConceptDetail:
    concept: ShownConcept
    ancestors: ConceptList
    descendants: ConceptList
    mapped_from: ConceptList  # source codes that map to the concept ('Maps to')
    maps_to: ConceptList  # what the concept maps to (a non-standard one's standard concepts)
    policy: DisclosurePolicy
    database: dict
    policy_note: str | None = None

    def lists(self) -> dict[str, ConceptList]:
        return {"ancestors": self.ancestors, "descendants": self.descendants,
                "mapped_from": self.mapped_from, "maps_to": self.maps_to}

    def to_dict(self) -> dict:
        return {"concept": self.concept.to_dict(), **{k: v.to_dict() for k, v in self.lists().items()},
                "policy": self.policy.to_dict(), **({"policy_note": self.policy_note} if self.policy_note else {}),
                "database": self.database}


def _concept(row: Sequence) -> Concept:
    """(concept_id, name, domain, vocabulary, class, standard, code, valid start, valid end, invalid reason)."""
    return Concept(int(row[0]), str(row[1]), str(row[2]), str(row[3]), str(row[4]), row[5] or None, str(row[6]),
                   str(row[7]), str(row[8]), row[9] or None)


def _shown(concept: Concept, records: int, persons: int, policy: DisclosurePolicy, **extra) -> ShownConcept:
    if concept.domain not in _COUNTED_DOMAINS:  # no table of records: nothing counted, nothing shown
        return ShownConcept(concept, None, None, **extra)
    return ShownConcept(concept, shown_alone(int(records), policy), shown_alone(int(persons), policy), **extra)


def _shown_size(shown: ShownConcept) -> float:
    """The records as shown, for ordering: a small count (`<k`, 1 to k-1) sits between a shown 0
    and the released counts, all small ones alike; no count (a domain without records) last."""
    if shown.records is None:
        return -1.0
    return 0.5 if shown.records.value is None else float(shown.records.value)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def match_kind(text: str, concept: Concept) -> str:
    """How `concept` matches the search text (one of MATCHES): its code or name is the text, its
    name starts with it, has each of its words as a word, or contains each of them."""
    lowered = " ".join(text.split()).lower()
    name = " ".join(concept.name.split()).lower()
    if concept.code.lower() == lowered:
        return "code"
    if name == lowered:
        return "name"
    if name.startswith(lowered):
        return "prefix"
    if _words(lowered) <= _words(name):
        return "words"
    return "contains"


def _first(items: list[ShownConcept], limit: int) -> ConceptList:
    return ConceptList(tuple(items[:limit]), max(0, len(items) - limit))


def protect_search(text: str, rows: Sequence[Sequence], policy: DisclosurePolicy, limit: int, capped: int | None,
                   database: dict, policy_note: str | None = None) -> SearchResult:
    """Search candidates (a concept's 10 columns, then records and persons) as the hits shown: ranked
    by match, standard concepts first, then shown records (largest first), then name and id."""
    hits = [_shown(c, r[10], r[11], policy, match=match_kind(text, c)) for r in rows for c in (_concept(r),)]
    hits.sort(key=lambda h: (MATCHES.index(h.match), h.concept.standard != "S", -_shown_size(h),
                             h.concept.name.lower(), h.concept.concept_id))
    return SearchResult(text, _first(hits, limit), capped, policy, database, policy_note)


def protect_detail(rows: Sequence[Sequence], policy: DisclosurePolicy, limit: int, database: dict,
                   policy_note: str | None = None) -> ConceptDetail | None:
    """A concept's row and its related concepts (relation, min and max levels, the 10 concept columns,
    records, persons), each list in the shown order; None when no row is the concept itself."""
    related: dict[str, list[ShownConcept]] = {"concept": [], "ancestor": [], "descendant": [],
                                              "mapped_from": [], "maps_to": []}
    for row in rows:
        levels = None if row[1] is None else (int(row[1]), int(row[2]))
        related[row[0]].append(_shown(_concept(row[3:13]), row[13], row[14], policy,
                                      levels=levels if row[0] in ("ancestor", "descendant") else None))
    if not related["concept"]:
        return None
    for relation in ("ancestor", "descendant"):
        related[relation].sort(key=lambda s: (s.levels, -_shown_size(s), s.concept.name.lower(), s.concept.concept_id))
    for relation in ("mapped_from", "maps_to"):
        related[relation].sort(key=lambda s: (-_shown_size(s), s.concept.vocabulary, s.concept.code,
                                              s.concept.concept_id))
    return ConceptDetail(related["concept"][0], *(_first(related[r], limit) for r in
                                                  ("ancestor", "descendant", "mapped_from", "maps_to")),
                         policy, database, policy_note)
