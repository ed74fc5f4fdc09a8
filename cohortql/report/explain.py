"""Explains a resolved plan in plain English for a data steward, every window and count spelled out.

It reads the plan (what will run), not the syntax tree (what was written), so the text cannot
describe a meaning the engine does not implement.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import singledispatch

from cohortql.omop import DOMAINS, GENDER_CONCEPTS, UNIT_CONCEPTS, VISIT_CONCEPTS
from cohortql.resolve import plan

_NOUNS = {word: table.noun for word, table in DOMAINS.items()}
_BREAKDOWNS = {
    "site": "site",
    "site_group": "site group",
    "sex": "sex",
    "age5": "5-year age band",
    "age10": "10-year age band",
    "year": "calendar year of the index date",
    "quarter": "calendar quarter of the index date",
    "month": "calendar month of the index date",
}
_UNIT_NAMES = {concept_id: symbol for symbol, concept_id in UNIT_CONCEPTS.items()}
_VISIT_NAMES = {concept_id: name.replace("_", " ") for name, concept_id in VISIT_CONCEPTS.items()}
_SEX_NAMES = {concept_id: name for name, concept_id in GENDER_CONCEPTS.items()}
_AMOUNTS = {">=": "at least", ">": "more than", "<=": "at most", "<": "less than", "=": "exactly", "!=": "other than"}
_AGES = {">=": "aged {} or older", ">": "older than {}", "<=": "aged {} or younger", "<": "younger than {}",
         "=": "aged exactly {}", "!=": "not aged {}"}
_DATES = {">=": "on or after", ">": "after", "<=": "on or before", "<": "before", "=": "on", "!=": "not on"}
_AGE_RULE = "at the index date (year of index minus year of birth)"


def explain_plan(p: plan.Plan, labels: Mapping[int, str] | None = None) -> str:
    """The whole definition: metadata, concept sets, entry, numbered rules, breakdown.

    `labels` name concepts in the concept-set list (the feasibility report passes the labels
    the definition wrote): words for a reader, not part of the meaning.
    """
    sections = []
    if p.metadata:
        sections.append("\n".join(f"{key.capitalize()}: {value}" for key, value in p.metadata))
    sections.append("\n".join(["Concept sets:", *(_codeset_lines(c, labels or {}) for c in p.codesets)]))
    sections.append(_entry(p.entry, p))
    if p.entry.qualify:
        sections.append(_qualify(p.entry.qualify, p))
    if p.rules:
        rules = [_rule(number, rule, p) for number, rule in enumerate(p.rules, start=1)]
        sections.append("\n".join(["Rules, applied in the order written:", *rules]))
    else:
        sections.append("Rules: none; every person with an entry is in the cohort.")
    breakdown = _join([_BREAKDOWNS[b] for b in p.breakdown], "and")
    sections.append(f"Breakdown: by {breakdown}." if breakdown else "Breakdown: none.")
    return "\n\n".join(sections) + "\n"


# ---- concept sets ----------------------------------------------------------------------


def _item(item: plan.ConceptItem, labels: Mapping[int, str]) -> str:
    name = f'{item.concept_id} "{labels[item.concept_id]}"' if item.concept_id in labels else str(item.concept_id)
    text = f"{name} and its descendants" if item.descendants else f"{name} without descendants"
    return f"excluding {text}" if item.excluded else text


def _source(source: plan.SourceCodes) -> str:
    return f"{source.vocabulary} codes matching {source.pattern} mapped to standard concepts"


def _codeset_items(codeset: plan.Codeset, labels: Mapping[int, str] | None = None) -> list[str]:
    # Excluded items last: they are removed after every included item has been expanded.
    included = [_item(i, labels or {}) for i in codeset.items if not i.excluded]
    excluded = [_item(i, labels or {}) for i in codeset.items if i.excluded]
    return included + [_source(s) for s in codeset.sources] + excluded


def _codeset_lines(codeset: plan.Codeset, labels: Mapping[int, str]) -> str:
    items = _codeset_items(codeset, labels)
    if len(items) == 1:
        return f"- {codeset.name}: {items[0]}"
    return "\n".join([f"- {codeset.name}:", *(f"  - {item}" for item in items)])


# ---- entry and rules -------------------------------------------------------------------


def _observation(entry: plan.Entry, anchor: str) -> str:
    spans = []
    if entry.prior_days:
        spans.append(f"at least {_days(entry.prior_days)} of observation before")
    if entry.post_days:
        spans.append(f"at least {_days(entry.post_days)} {'' if spans else 'of observation '}after")
    return "an observation period" + (f" with {' and '.join(spans)} {anchor}" if spans else "")


def _entry(entry: plan.Entry, p: plan.Plan) -> str:
    if len(entry.events) > 1:
        return _alternative_entries(entry, p)
    (event,) = entry.events
    what = f"{_NOUNS[event.domain]}{_codeset_ref(event, p, summary=True)}"
    attributes = _attributes(event, p)
    if entry.mode == "first":
        must = [f"lie in {_observation(entry, 'the index date')}"]
        if attributes:
            must.append(f"be one {_join(attributes, 'and')}")
        return (
            f"Entry: each person's first-ever {what}. The index date is that record's start date. "
            f"The record must {' and must '.join(must)}. A person whose first-ever record fails this "
            "does not enter; later records are not tried."
        )
    qualifiers = _join([*attributes, f"lying in {_observation(entry, 'its start date')}"], "and")
    if entry.mode == "earliest":
        return (f"Entry: each person's earliest {what} {qualifiers}. "
                "The index date is that record's start date.")
    return (f"Entry: every {what} {qualifiers}; a person may enter more than once. "
            "The index date is each record's start date; counts are of persons, using each person's best entry.")


def _alternative_entries(entry: plan.Entry, p: plan.Plan) -> str:
    kinds = []
    for event in entry.events:
        attributes = _attributes(event, p)
        kinds.append(f"  - a {_NOUNS[event.domain]}{_codeset_ref(event, p, summary=True)}"
                     + (f" {_join(attributes, 'and')}" if attributes else ""))  # fmt: skip
    observed = f"Each must lie in {_observation(entry, 'its start date')}."
    heads = {
        "first": "Entry: for each kind of record below, each person's first-ever one (later ones are not "
        f"tried); of those, the earliest that qualifies. {observed} The index date is its start date.",
        "earliest": f"Entry: each person's earliest record of any kind below. {observed} "
        "The index date is its start date.",
        "all": f"Entry: every record of any kind below; a person may enter more than once. {observed} "
        "The index date is each record's start date; counts are of persons, using each person's best entry.",
    }
    return "\n".join([heads[entry.mode], *kinds])


def _qualify(qualify: plan.Qualify, p: plan.Plan) -> str:
    kept = "; each person's earliest qualifying event is kept (the lowest record id on a tie)"
    kept = kept if qualify.earliest else ""
    text = (f"Qualifying entries, tested before the rules (the attrition starts with them){kept}: "
            f"an entry event qualifies when the person {_predicate(qualify.test, p, '  ')}")  # fmt: skip
    return text if "\n" in text else text + "."


def _rule(number: int, rule: plan.Rule, p: plan.Plan) -> str:
    verb = "keep" if rule.kind == "include" else "remove"
    text = f'Rule {number}, {rule.kind} "{rule.name}": {verb} a person who {_predicate(rule.test, p, "  ")}'
    return text if "\n" in text else text + "."


def _listed(heading: str, children: tuple[plan.Test, ...], p: plan.Plan, indent: str) -> str:
    lines = [f"{indent}- {_predicate(child, p, indent + '  ')}" for child in children]
    return "\n".join([heading, *lines])


@singledispatch
def _predicate(test, p: plan.Plan, indent: str) -> str:
    """What a person must satisfy, as a verb phrase ("has ...", "is ..."); groups nest as indented lists."""
    raise TypeError(f"no explanation for {type(test).__name__}")


@_predicate.register
def _occurs(test: plan.Occurs, p: plan.Plan, indent: str) -> str:
    event = test.event
    attributes = _attributes(event, p)
    qualifiers = ", ".join([*attributes, f"{_dated(event)} {_window(test.window)}"])
    joiner = ", " if attributes else " "
    if test.count == 0 and test.op in ("=", "<="):
        return f"has no {_records(event, p, 1)}{joiner}{qualifiers}"
    amount = f"{_AMOUNTS[test.op]} {test.count}"
    if test.distinct_days:
        return f"has {_records(event, p, 2)} on {amount} distinct {_plural(test.count, 'day')}, {qualifiers}"
    return f"has {amount} {_records(event, p, test.count)}{joiner}{qualifiers}"


@_predicate.register
def _age(test: plan.AgeTest, p: plan.Plan, indent: str) -> str:
    low_high = _between(test.bounds)
    if low_high:
        return f"is aged {low_high[0]} to {low_high[1]} {_AGE_RULE}"
    return "is " + " and ".join(_AGES[b.op].format(_number(b.value)) for b in test.bounds) + f" {_AGE_RULE}"


@_predicate.register
def _sex(test: plan.SexTest, p: plan.Plan, indent: str) -> str:
    name = _SEX_NAMES.get(test.concept_id)
    return f"is recorded as {name} (gender concept {test.concept_id})" if name else f"has gender {test.concept_id}"


@_predicate.register
def _index_date(test: plan.IndexDateTest, p: plan.Plan, indent: str) -> str:
    low_high = _between(test.bounds, str)
    if low_high:
        return f"has an index date between {low_high[0]} and {low_high[1]} (both included)"
    return "has an index date " + " and ".join(f"{_DATES[b.op]} {b.value}" for b in test.bounds)


@_predicate.register
def _all_of(test: plan.AllOf, p: plan.Plan, indent: str) -> str:
    return _listed("meets all of the following:", test.children, p, indent)


@_predicate.register
def _any_of(test: plan.AnyOf, p: plan.Plan, indent: str) -> str:
    return _listed("meets any of the following:", test.children, p, indent)


@_predicate.register
def _at_least_of(test: plan.AtLeastOf, p: plan.Plan, indent: str) -> str:
    return _listed(f"meets at least {test.count} of the following:", test.children, p, indent)


@_predicate.register
def _not(test: plan.NotTest, p: plan.Plan, indent: str) -> str:
    return _listed("does not meet the following:", (test.child,), p, indent)


# ---- events, attributes, windows --------------------------------------------------------


def _records(event: plan.EventQuery, p: plan.Plan, count: int) -> str:
    return _plural(count, _NOUNS[event.domain]) + _codeset_ref(event, p)


def _dated(event: plan.EventQuery) -> str:
    # Tables with an end date name their date column a start date; the others have one date.
    return "with start date" if DOMAINS[event.domain].end_date else "dated"


def _codeset_ref(event: plan.EventQuery, p: plan.Plan, summary: bool = False) -> str:
    if event.codeset_id is None:
        return " of any concept"
    codeset = p.codeset(event.codeset_id)
    return f" in concept set {codeset.name}" + (f" ({', '.join(_codeset_items(codeset))})" if summary else "")


def _attributes(event: plan.EventQuery, p: plan.Plan) -> list[str]:
    """Each attribute filter as a phrase that can follow a record noun."""
    phrases = []
    if event.value:
        phrases.append(f"with a value {_of(_amount(event.value))} (a record with no value never matches)")
    if event.value_codeset_id is not None:
        phrases.append(f"with a value in concept set {p.codeset(event.value_codeset_id).name}")
    if event.unit_concept_ids:
        units = [f"{_UNIT_NAMES[u]} (concept {u})" if u in _UNIT_NAMES else f"concept {u}"
                 for u in event.unit_concept_ids]
        phrases.append(f"with unit {_join(units, 'or')}")
    if event.visit_concept_ids:
        visits = _join([f"{_VISIT_NAMES.get(v, 'visit type')} (concept {v})" for v in event.visit_concept_ids], "or")
        phrases.append(f"of type {visits}" if event.domain == "visit" else f"recorded during a visit of type {visits}")
    if event.duration:
        phrases.append(f"lasting {_amount(event.duration, ' days')} (end date minus start date)")
    if event.days_supply:
        phrases.append(f"with a days supply {_of(_amount(event.days_supply, ' days'))}")
    for concept_filter in event.concept_filters:
        ids = _join([str(i) for i in concept_filter.concept_ids], "or")
        phrases.append(f"with {concept_filter.attribute.replace('_', ' ')} concept {ids}")
    return phrases


def _offset(day: int) -> str:
    if day == 0:
        return "the index date"
    return f"{_days(abs(day))} {'before' if day < 0 else 'after'} the index date"


def _range(start: int, end: int) -> str:
    """A closed window [start, end] in days from the index date."""
    if start == end:
        return "on the index date" if start == 0 else f"exactly {_offset(start)}"
    if start == 0:
        return f"from the index date to {_days(end)} after"
    if end == 0:
        return f"from {_days(-start)} before to the index date"
    return f"from {_days(abs(start))} {'before' if start < 0 else 'after'} to {_offset(end)}"


def _window(window: plan.Window) -> str:
    start, end, inside = window.start, window.end, window.within_observation
    ignoring = ", ignoring observation periods"
    if start is not None and end is not None:
        return _range(start, end) + (", inside the index's observation period" if inside else ignoring)
    if start is None and end is None:
        return "at any time in the index's observation period" if inside else "at any time" + ignoring
    if inside:
        if start is None and end == -1:
            return "any time before the index date (from the start of the observation period to 1 day before)"
        if start is None:
            return f"from the start of the observation period to {_offset(end)}"
        if start == 1:
            return "any time after the index date (from 1 day after to the end of the observation period)"
        return f"from {_offset(start)} to the end of the observation period"
    if start is None:
        text = "any time before the index date" if end == -1 else f"any time up to {_offset(end)}"
    else:
        text = "any time after the index date" if start == 1 else f"any time from {_offset(start)} on"
    return text + ignoring


# ---- numbers and words ----------------------------------------------------------------------


def _between(bounds, show=None) -> tuple[str, str] | None:
    """The two ends of a `between` (the resolver writes it as `>= low`, `<= high`), else None."""
    show = show or _number
    if len(bounds) == 2 and bounds[0].op == ">=" and bounds[1].op == "<=":
        return show(bounds[0].value), show(bounds[1].value)
    return None


def _amount(bounds: tuple[plan.Bound, ...], unit: str = "") -> str:
    low_high = _between(bounds)
    if low_high:
        return f"between {low_high[0]} and {low_high[1]}{unit}"
    return " and ".join(f"{_AMOUNTS[b.op]} {_number(b.value)}{unit}" for b in bounds)


def _of(amount: str) -> str:
    return amount if amount.startswith(("between", "other")) else f"of {amount}"


def _number(value) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _days(n: int) -> str:
    return f"{n} {_plural(n, 'day')}"


def _plural(n: int, noun: str) -> str:
    return noun if n == 1 else noun + "s"


def _join(words: list[str], conjunction: str) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {conjunction} {words[-1]}"
