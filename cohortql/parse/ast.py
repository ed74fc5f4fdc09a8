"""The syntax tree: what the user wrote, as frozen dataclasses with source spans.

Spans never take part in equality, so two texts that differ only in layout or
comments parse to equal trees (the formatter's round-trip property relies on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from cohortql.diagnostics import Span

NO_SPAN = Span(0, 0, 0, 0)


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Name:
    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Int:
    value: int
    span: Span = _span()


@dataclass(frozen=True)
class Number:
    value: Decimal
    span: Span = _span()


# ---- metadata and concept sets ------------------------------------------------


@dataclass(frozen=True)
class Meta:
    key: str  # title | protocol | sponsor
    value: str
    span: Span = _span()


@dataclass(frozen=True)
class ConceptInclude:
    concept_id: Int
    label: str | None
    descendants: bool
    span: Span = _span()


@dataclass(frozen=True)
class ConceptExclude:
    concept_id: Int
    label: str | None
    descendants: bool
    span: Span = _span()


@dataclass(frozen=True)
class SourceCodes:
    """Source codes (e.g. ICD10CM `E11%`, a SQL LIKE pattern) mapped to standard concepts."""

    vocabulary: Name
    pattern: str
    span: Span = _span()


ConceptItem = ConceptInclude | ConceptExclude | SourceCodes


@dataclass(frozen=True)
class ConceptSet:
    name: Name
    items: tuple[ConceptItem, ...]
    span: Span = _span()


# ---- events and their attributes ---------------------------------------------------


@dataclass(frozen=True)
class Compare:
    op: str  # >= <= > < = !=
    value: Number
    span: Span = _span()


@dataclass(frozen=True)
class Between:
    low: Number
    high: Number
    span: Span = _span()


Comparison = Compare | Between


@dataclass(frozen=True)
class ValueFilter:
    comparison: Comparison
    span: Span = _span()


@dataclass(frozen=True)
class ValueConceptFilter:
    concept_set: Name
    span: Span = _span()


@dataclass(frozen=True)
class SourceConceptFilter:
    """`with source concept SET`: the record's source concept (its `*_source_concept_id`) is in SET."""

    concept_set: Name
    span: Span = _span()


@dataclass(frozen=True)
class Unit:
    value: str | int  # a unit symbol such as "mg/dL", or a unit concept id
    span: Span = _span()


@dataclass(frozen=True)
class UnitFilter:
    units: tuple[Unit, ...]
    span: Span = _span()


@dataclass(frozen=True)
class VisitTypeFilter:
    value: str | int  # inpatient | outpatient | emergency | ..., or a visit concept id
    span: Span = _span()


@dataclass(frozen=True)
class DurationFilter:
    comparison: Comparison
    span: Span = _span()


@dataclass(frozen=True)
class DaysSupplyFilter:
    comparison: Comparison
    span: Span = _span()


@dataclass(frozen=True)
class AttributeConcept:
    concept_id: Int
    label: str | None
    span: Span = _span()


@dataclass(frozen=True)
class ConceptColumnFilter:
    """`with condition status 32902 "Primary diagnosis", ...`: a concept column of the domain's rows
    (cohortql.omop.ConceptColumn) is one of the concepts."""

    attribute: str  # the words joined by "_", e.g. condition_status
    concepts: tuple[AttributeConcept, ...]
    span: Span = _span()


@dataclass(frozen=True)
class StartDateFilter:
    """`with start date >= 2010-01-01`: the record's start date (Circe's OccurrenceStartDate)."""

    comparison: DateCompare | DateBetween
    span: Span = _span()


@dataclass(frozen=True)
class AgeFilter:
    """`with age >= 18`: the person's age at the record's start date (Circe's Age on a criterion)."""

    comparison: Comparison
    span: Span = _span()


@dataclass(frozen=True)
class SexFilter:
    """`with sex female`: the record's person (Circe's Gender on a criterion)."""

    value: Name
    span: Span = _span()


@dataclass(frozen=True)
class RangeFilter:
    """`with range low between 3 and 5`: the normal range of a measurement's value, or (`ratio`) the
    value divided by it (cohortql.omop.RANGE_ATTRIBUTES; Circe's RangeLow, ..., RangeHighRatio)."""

    attribute: str  # the words joined by "_", e.g. range_low_ratio
    comparison: Comparison
    span: Span = _span()


@dataclass(frozen=True)
class NestedCriterion:
    """`with (CRITERION)`: the record itself must meet a criterion, whose windows are relative to
    it (`it` in them; Circe's CorrelatedCriteria on a criterion)."""

    criterion: Criterion
    span: Span = _span()


Attribute = (
    ValueFilter
    | ValueConceptFilter
    | SourceConceptFilter
    | UnitFilter
    | VisitTypeFilter
    | DurationFilter
    | DaysSupplyFilter
    | ConceptColumnFilter
    | StartDateFilter
    | AgeFilter
    | SexFilter
    | RangeFilter
    | NestedCriterion
)


@dataclass(frozen=True)
class Event:
    domain: str  # condition, drug, ..., condition_era, drug_era
    concept_set: Name | None
    attributes: tuple[Attribute, ...]
    span: Span = _span()
    first: bool = False  # `first ever`: each person's first-ever record of the concept set only


# ---- entry and observation ------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    mode: str  # first | earliest | all
    events: tuple[Event, ...]  # alternatives: a record of any of them is an entry
    span: Span = _span()


@dataclass(frozen=True)
class ObservationSpan:
    days: Int
    direction: str  # before | after
    span: Span = _span()


@dataclass(frozen=True)
class Observation:
    spans: tuple[ObservationSpan, ...]
    span: Span = _span()


# ---- windows ----------------------------------------------------------------------------


# Each window word ending in `index` may end in `it` instead (the `anchor`): inside a nested
# criterion, the record the criterion is attached to.


@dataclass(frozen=True)
class Within:
    """`within N days before|after index`."""

    days: Int
    direction: str
    anchor: str = "index"  # index | it, then " end" for that record's end date
    span: Span = _span()


@dataclass(frozen=True)
class Around:
    """`within N days of index`."""

    days: Int
    anchor: str = "index"
    span: Span = _span()


@dataclass(frozen=True)
class Offset:
    """`N days before|after index`, `index` itself (days and direction None), or open:
    `all days before|after index` (days None), bounded only by the observation period."""

    days: Int | None
    direction: str | None
    anchor: str = "index"
    span: Span = _span()


@dataclass(frozen=True)
class FromTo:
    start: Offset
    end: Offset
    span: Span = _span()


@dataclass(frozen=True)
class AnyTime:
    direction: str | None  # before | after | None for the whole observation period
    anchor: str = "index"  # unused without a direction
    span: Span = _span()


@dataclass(frozen=True)
class OnIndex:
    anchor: str = "index"
    span: Span = _span()


WindowSpan = Within | Around | FromTo | AnyTime | OnIndex


@dataclass(frozen=True)
class DatedSpan:
    """`ending WINDOW_SPAN` (or `starting`): a window on the record's end (or start) date."""

    date: str  # starting | ending
    span_: WindowSpan
    span: Span = _span()


@dataclass(frozen=True)
class Window:
    span_: WindowSpan
    ignore_observation: bool
    span: Span = _span()
    date: str | None = None  # starting | ending | None: not written (the record's start date)
    also: DatedSpan | None = None  # `and ending ...`: a second window that must hold too


# ---- criteria and rules ------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    kind: str  # at_least | at_most | exactly | none
    count: Int | None  # None for `no`
    distinct_days: bool
    span: Span = _span()


@dataclass(frozen=True)
class EventCriterion:
    occurrence: Occurrence | None  # None means `at least 1`
    event: Event
    window: Window
    span: Span = _span()


@dataclass(frozen=True)
class Group:
    kind: str  # any | all | at_least
    count: Int | None  # for at_least
    children: tuple[Criterion, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Not:
    child: Criterion
    span: Span = _span()


@dataclass(frozen=True)
class Age:
    comparison: Comparison
    span: Span = _span()


@dataclass(frozen=True)
class Sex:
    value: Name
    span: Span = _span()


@dataclass(frozen=True)
class DateCompare:
    op: str
    date: str
    span: Span = _span()


@dataclass(frozen=True)
class DateBetween:
    low: str
    high: str
    span: Span = _span()


@dataclass(frozen=True)
class IndexDate:
    comparison: DateCompare | DateBetween
    span: Span = _span()


Criterion = EventCriterion | Group | Not | Age | Sex | IndexDate


@dataclass(frozen=True)
class Rule:
    kind: str  # include | exclude
    name: str
    criterion: Criterion
    name_span: Span = _span()
    span: Span = _span()


@dataclass(frozen=True)
class Qualify:
    """`qualify earliest|all: CRITERION`: what an entry event must meet before the rules."""

    mode: str  # earliest | all
    criterion: Criterion
    span: Span = _span()


@dataclass(frozen=True)
class Breakdown:
    dimensions: tuple[Name, ...]
    span: Span = _span()


Statement = Meta | ConceptSet | Entry | Observation | Qualify | Rule | Breakdown


@dataclass(frozen=True)
class Comment:
    text: str  # including the leading '#'
    line: int
    column: int


@dataclass(frozen=True)
class Definition:
    """A whole `.cohort` file: statements in the order written, plus its comments."""

    statements: tuple[Statement, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False, repr=False)
