"""The plan: what will run. Stricter than the syntax tree; invariants are checked on construction."""

from __future__ import annotations

from dataclasses import dataclass

from cohortql.omop import BREAKDOWNS, DOMAINS, MAX_RULES, RANGE_ATTRIBUTES

COMPARISON_OPS = (">=", ">", "<=", "<", "=", "!=")


class PlanInvariantError(ValueError):
    """A plan that cannot exist; the resolver reports user errors before building one."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PlanInvariantError(message)


@dataclass(frozen=True)
class ConceptItem:
    concept_id: int
    descendants: bool
    excluded: bool


@dataclass(frozen=True)
class SourceCodes:
    vocabulary: str
    pattern: str  # SQL LIKE pattern, always a bind parameter


@dataclass(frozen=True)
class Codeset:
    """A named concept set; `id` is its position in the plan (names are for people only)."""

    id: int
    name: str
    items: tuple[ConceptItem, ...]
    sources: tuple[SourceCodes, ...]

    def __post_init__(self):
        selects = any(not i.excluded for i in self.items) or bool(self.sources)
        _require(selects, f"concept set {self.name} selects nothing")


@dataclass(frozen=True)
class Bound:
    op: str
    value: float

    def __post_init__(self):
        _require(self.op in COMPARISON_OPS, f"bad comparison {self.op}")


@dataclass(frozen=True)
class DateBound:
    op: str
    value: str  # ISO date

    def __post_init__(self):
        _require(self.op in COMPARISON_OPS, f"bad comparison {self.op}")


@dataclass(frozen=True)
class ConceptFilter:
    """A concept column of the rows (cohortql.omop.ConceptColumn, by attribute key) is one of these."""

    attribute: str
    concept_ids: tuple[int, ...]

    def __post_init__(self):
        _require(bool(self.concept_ids), f"{self.attribute} filter lists no concept")


@dataclass(frozen=True)
class EventQuery:
    """Rows of one domain table, filtered by concept set and attributes."""

    domain: str
    codeset_id: int | None
    value: tuple[Bound, ...] = ()
    value_codeset_id: int | None = None
    source_codeset_id: int | None = None  # the record's source concept is in this concept set
    unit_concept_ids: tuple[int, ...] = ()
    visit_concept_ids: tuple[int, ...] = ()
    duration: tuple[Bound, ...] = ()
    days_supply: tuple[Bound, ...] = ()
    concept_filters: tuple[ConceptFilter, ...] = ()  # in the order written, one per attribute
    start_date: tuple[DateBound, ...] = ()  # the record's start date
    age: tuple[Bound, ...] = ()  # the person's age at the record's start: its year minus year of birth
    gender_concept_ids: tuple[int, ...] = ()  # the person's gender
    # The measurement's normal range, and its value divided by either end (cohortql.omop.RANGE_ATTRIBUTES).
    range_low: tuple[Bound, ...] = ()
    range_high: tuple[Bound, ...] = ()
    range_low_ratio: tuple[Bound, ...] = ()
    range_high_ratio: tuple[Bound, ...] = ()
    # The record must itself meet this test, its windows, age and sex taken relative to the record
    # (which must lie in an observation period: Circe's CorrelatedCriteria on a criterion).
    nested: Test | None = None
    # Only each person's first-ever record of the concept set, ranked before any other test (Circe's
    # First on a criterion); ties: the lowest record id.
    first: bool = False

    def __post_init__(self):
        _require(self.domain in DOMAINS, f"unknown domain {self.domain}")
        used = [f.attribute for f in self.concept_filters]
        _require(len(set(used)) == len(used), "a concept column filtered twice")
        for attribute in self.attribute_keys():
            _require(attribute in DOMAINS[self.domain].attributes, f"{self.domain} has no {attribute}")

    def attribute_keys(self) -> list[str]:
        """The attributes this query filters on (cohortql.omop.DomainTable.attributes keys)."""
        present = {
            "value": bool(self.value),
            "value_concept": self.value_codeset_id is not None,
            "source_concept": self.source_codeset_id is not None,
            "unit": bool(self.unit_concept_ids),
            "visit_type": bool(self.visit_concept_ids),
            "duration": bool(self.duration),
            "days_supply": bool(self.days_supply),
            "start_date": bool(self.start_date),
            "age": bool(self.age),
            "sex": bool(self.gender_concept_ids),
            **{key: bool(getattr(self, key)) for key in RANGE_ATTRIBUTES},
        }
        return [key for key, given in present.items() if given] + [f.attribute for f in self.concept_filters]


@dataclass(frozen=True)
class Window:
    """Days relative to the index date (with `index_end`, the index record's end date), inclusive,
    tested on the other record's start date (with `event_end`, its end date); None is open
    (bounded by the observation period when `within_observation`, unbounded otherwise)."""

    start: int | None
    end: int | None
    within_observation: bool = True
    event_end: bool = False
    index_end: bool = False

    def __post_init__(self):
        _require(self.start is None or self.end is None or self.start <= self.end, "window start after end")


@dataclass(frozen=True)
class Occurs:
    """`op count` records of `event` start inside `window` (distinct start days if asked)."""

    event: EventQuery
    op: str  # >= <= =
    count: int
    distinct_days: bool
    window: Window
    also: Window | None = None  # a second window the record must be in too (Circe's EndWindow)

    def __post_init__(self):
        _require(self.op in (">=", "<=", "=") and self.count >= 0, "bad occurrence count")


@dataclass(frozen=True)
class AgeTest:
    bounds: tuple[Bound, ...]


@dataclass(frozen=True)
class SexTest:
    concept_id: int


@dataclass(frozen=True)
class IndexDateTest:
    bounds: tuple[DateBound, ...]


@dataclass(frozen=True)
class AllOf:
    children: tuple[Test, ...]


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Test, ...]


@dataclass(frozen=True)
class AtLeastOf:
    count: int
    children: tuple[Test, ...]

    def __post_init__(self):
        _require(1 <= self.count <= len(self.children), "at least n of: n out of range")


@dataclass(frozen=True)
class NotTest:
    child: Test


Test = Occurs | AgeTest | SexTest | IndexDateTest | AllOf | AnyOf | AtLeastOf | NotTest


@dataclass(frozen=True)
class Rule:
    """An inclusion rule keeps a person when its test holds; an exclusion rule when it does not."""

    name: str
    kind: str  # include | exclude
    test: Test

    def __post_init__(self):
        _require(self.kind in ("include", "exclude"), "bad rule kind")


@dataclass(frozen=True)
class Qualify:
    """The entry events must meet `test` before the rules (Circe's AdditionalCriteria); with
    `earliest`, each person's earliest one that does is kept (QualifiedLimit First), else all."""

    test: Test
    earliest: bool


@dataclass(frozen=True)
class Entry:
    """Records of any of `events` (each first-ever one, in mode first) are the candidate entries;
    those meeting `qualify` (if any) are the entries the rules are tested on."""

    mode: str  # first | earliest | all
    events: tuple[EventQuery, ...]
    prior_days: int
    post_days: int
    qualify: Qualify | None = None

    def __post_init__(self):
        _require(len(self.events) >= 1, "an entry needs an event")
        _require(self.mode in ("first", "earliest", "all"), "bad entry mode")
        _require(self.prior_days >= 0 and self.post_days >= 0, "negative observation requirement")
        # Only `entry all` leaves a person several events for the qualified limit to choose from.
        _require(self.qualify is None or self.mode == "all" or not self.qualify.earliest, "qualify earliest of one")


@dataclass(frozen=True)
class Plan:
    metadata: tuple[tuple[str, str], ...]
    codesets: tuple[Codeset, ...]
    entry: Entry
    rules: tuple[Rule, ...]
    breakdown: tuple[str, ...] = ()

    def __post_init__(self):
        _require(all(c.id == i for i, c in enumerate(self.codesets)), "codeset ids must be positions")
        _require(len({r.name for r in self.rules}) == len(self.rules), "duplicate rule names")
        _require(all(b in BREAKDOWNS for b in self.breakdown), "unknown breakdown")
        _require(len(self.rules) <= MAX_RULES, f"at most {MAX_RULES} rules fit the rule bitmask")

    def codeset(self, codeset_id: int) -> Codeset:
        return self.codesets[codeset_id]
