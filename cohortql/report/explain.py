"""Explains a resolved plan in plain language for a data steward, every window and count spelled out.

It reads the plan (what will run), not the syntax tree (what was written), so the text cannot
describe a meaning the engine does not implement. Every phrase is a message of
`cohortql.report.i18n.EXPLAIN`, in English (`cohortql explain`) or French (the French report);
numbers and dates are formatted for the language.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import singledispatch

from cohortql.omop import DOMAINS, GENDER_CONCEPTS, RANGE_ATTRIBUTES, UNIT_CONCEPTS, VISIT_CONCEPTS
from cohortql.report.i18n import EXPLAIN, EXPLAIN_NOUNS_FR, LANGUAGES
from cohortql.resolve import plan

_UNIT_NAMES = {concept_id: symbol for symbol, concept_id in UNIT_CONCEPTS.items()}
_VISIT_NAMES = {concept_id: name for name, concept_id in VISIT_CONCEPTS.items()}
_SEX_NAMES = {concept_id: name for name, concept_id in GENDER_CONCEPTS.items()}
_LANGUAGE: ContextVar[str] = ContextVar("explain_language", default="en")


@dataclass(frozen=True)
class _Anchor:
    """What windows and age are relative to: the index, or inside a nested criterion the record."""

    date: str
    period: str
    age_rule: str
    end: str  # the date of a window on that record's end (`index end`, `it end`)


def _index_anchor() -> _Anchor:
    return _Anchor(_w("the_index_date"), _w("the_index_period"), _w("age_rule"), _w("the_index_end"))


def _record_anchor(event: plan.EventQuery) -> _Anchor:
    noun = _noun(event.domain, 1)
    date = _w("the_record_date", noun=noun)
    return _Anchor(date, _w("the_record_period", noun=noun), _w("record_age_rule", date=date),
                   _w("the_record_end", noun=noun))


def concept_labels(definition) -> dict[int, str]:
    """The labels the definition wrote beside its concept ids (`201826 "Type 2 diabetes mellitus"`)."""
    from cohortql.parse import ast

    labels = {}
    for statement in definition.statements:
        if isinstance(statement, ast.ConceptSet):
            for item in statement.items:
                label = getattr(item, "label", None)
                if label:
                    labels.setdefault(int(item.concept_id.value), label)
    return labels


def explain_plan(p: plan.Plan, labels: Mapping[int, str] | None = None, lang: str = "en") -> str:
    """The whole definition: metadata, concept sets, entry, numbered rules, breakdown.

    `labels` name concepts in the concept-set list (`cohortql explain`, `review show` and the
    feasibility report pass `concept_labels`, those the definition wrote): words for a reader,
    not part of the meaning. `lang`: en or fr.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose from {', '.join(LANGUAGES)}")
    token = _LANGUAGE.set(lang)
    try:
        return _explain(p, labels or {})
    finally:
        _LANGUAGE.reset(token)


def _explain(p: plan.Plan, labels: Mapping[int, str]) -> str:
    sections = []
    if p.metadata:
        sections.append("\n".join(_w("meta_line", key=_meta_key(key), value=value) for key, value in p.metadata))
    sections.append("\n".join([_w("concept_sets"), *(_codeset_lines(c, labels) for c in p.codesets)]))
    sections.append(_entry(p.entry, p))
    if p.entry.qualify:
        sections.append(_qualify(p.entry.qualify, p))
    if p.rules:
        rules = [_rule(number, rule, p) for number, rule in enumerate(p.rules, start=1)]
        sections.append("\n".join([_w("rules"), *rules]))
    else:
        sections.append(_w("no_rules"))
    breakdown = _join([_w(f"by_{b}") for b in p.breakdown], "and")
    sections.append(_w("breakdown", by=breakdown) if breakdown else _w("no_breakdown"))
    return "\n\n".join(sections) + "\n"


def _w(message: str, *args, **values) -> str:
    """One phrase of the current language, its placeholders filled."""
    return EXPLAIN[_LANGUAGE.get()][message].format(*args, **values)


def _french() -> bool:
    return _LANGUAGE.get() == "fr"


def _meta_key(key: str) -> str:
    return _w(f"meta_{key}") if f"meta_{key}" in EXPLAIN["en"] else key.capitalize()


def _noun(domain: str, count: int) -> str:
    """What one record (or several) of a domain is called."""
    if not _french():
        return _plural(count, DOMAINS[domain].noun)
    head = "enregistrement" if abs(count) < 2 else "enregistrements"
    return f"{head} {_de(EXPLAIN_NOUNS_FR[domain])}"


def _de(text: str) -> str:
    """French `de` before a word, elided before a vowel or a mute h."""
    return f"d’{text}" if text[:1].lower() in "aeiouyéèêh" else f"de {text}"


# ---- concept sets ----------------------------------------------------------------------


def _item(item: plan.ConceptItem, labels: Mapping[int, str]) -> str:
    concept = item.concept_id
    name = _w("labelled", id=concept, label=labels[concept]) if concept in labels else str(concept)
    text = _w("with_descendants" if item.descendants else "without_descendants", name=name)
    return _w("excluding", text=text) if item.excluded else text


def _source(source: plan.SourceCodes) -> str:
    return _w("source_codes", vocabulary=source.vocabulary, pattern=source.pattern)


def _codeset_items(codeset: plan.Codeset, labels: Mapping[int, str] | None = None) -> list[str]:
    # Excluded items last: they are removed after every included item has been expanded.
    included = [_item(i, labels or {}) for i in codeset.items if not i.excluded]
    excluded = [_item(i, labels or {}) for i in codeset.items if i.excluded]
    return included + [_source(s) for s in codeset.sources] + excluded


def _codeset_lines(codeset: plan.Codeset, labels: Mapping[int, str]) -> str:
    items = _codeset_items(codeset, labels)
    if len(items) == 1:
        return _w("codeset_one", name=codeset.name, item=items[0])
    return "\n".join([_w("codeset_many", name=codeset.name), *(f"  - {item}" for item in items)])


# ---- entry and rules -------------------------------------------------------------------


def _observation(entry: plan.Entry, anchor: str) -> str:
    spans = []
    if entry.prior_days:
        spans.append(_w("observed_before", days=_days(entry.prior_days)))
    if entry.post_days:
        spans.append(_w("after_too" if spans else "observed_after", days=_days(entry.post_days)))
    if not spans:
        return _w("observation_period")
    return _w("observation_spans", spans=f" {_w('and')} ".join(spans), anchor=_w(anchor))


def _entry(entry: plan.Entry, p: plan.Plan) -> str:
    if len(entry.events) > 1:
        return _alternative_entries(entry, p)
    (event,) = entry.events
    what = f"{_noun(event.domain, 1)}{_codeset_ref(event, p, summary=True)}"
    attributes = _attributes(event, p)
    if entry.mode == "first":
        must = [_w("must_lie", observation=_observation(entry, "the_index_date"))]
        if attributes:
            must.append(_w("must_be", attributes=_join(attributes, "and")))
        return _w("entry_first", what=what, must=_w("must_join").join(must))
    lying = _w("lying_in", observation=_observation(entry, "its_start_date"))
    qualifiers = _join([*attributes, lying], "and")
    return _w("entry_earliest" if entry.mode == "earliest" else "entry_all", what=what, qualifiers=qualifiers)


def _alternative_entries(entry: plan.Entry, p: plan.Plan) -> str:
    kinds = []
    for event in entry.events:
        attributes = _attributes(event, p)
        what = f"{_noun(event.domain, 1)}{_codeset_ref(event, p, summary=True)}"
        kinds.append(_w("kind_item", what=what) + (f" {_join(attributes, 'and')}" if attributes else ""))
    observed = _w("each_must_lie", observation=_observation(entry, "its_start_date"))
    return "\n".join([_w(f"kinds_{entry.mode}", observed=observed), *kinds])


def _qualify(qualify: plan.Qualify, p: plan.Plan) -> str:
    kept = _w("qualify_earliest") if qualify.earliest else ""
    text = _w("qualify", kept=kept, test=_predicate(qualify.test, p, "  "))
    return text if "\n" in text else text + "."


def _rule(number: int, rule: plan.Rule, p: plan.Plan) -> str:
    verb = _w("keep" if rule.kind == "include" else "remove")
    text = _w("rule", number=number, kind=_w(f"kind_{rule.kind}"), name=rule.name, verb=verb,
              test=_predicate(rule.test, p, "  "))
    return text if "\n" in text else text + "."


def _listed(heading: str, children: tuple[plan.Test, ...], p: plan.Plan, indent: str, anchor: _Anchor | None) -> str:
    lines = [f"{indent}- {_predicate(child, p, indent + '  ', anchor)}" for child in children]
    return "\n".join([heading, *lines])


@singledispatch
def _predicate(test, p: plan.Plan, indent: str, anchor: _Anchor | None = None) -> str:
    """What a person must satisfy, as a verb phrase ("has ...", "is ..."); groups nest as indented lists.
    `anchor`: what windows and age are relative to (None: the index)."""
    raise TypeError(f"no explanation for {type(test).__name__}")


@_predicate.register
def _occurs(test: plan.Occurs, p: plan.Plan, indent: str, anchor: _Anchor | None = None) -> str:
    event = test.event
    attributes = _attributes(event, p, indent)
    anchor = anchor or _index_anchor()
    windows = [f"{_dated(event, test.window)} {_window(test.window, anchor)}"]
    if test.also is not None:
        windows.append(_w("and_window", window=f"{_dated(event, test.also)} {_window(test.also, anchor)}"))
    qualifiers = ", ".join([*attributes, *windows])
    joiner = ", " if attributes else " "
    if test.count == 0 and test.op in ("=", "<="):
        return _w("has_none", records=_records(event, p, 1)) + joiner + qualifiers
    amount = _w(f"amount_{test.op}", _number(test.count))
    if test.distinct_days:
        return _w("has_on_days", records=_records(event, p, 2), amount=amount,
                  days=_plural(test.count, "distinct_day"), qualifiers=qualifiers)
    return _w("has", amount=amount, records=_records(event, p, test.count)) + joiner + qualifiers


@_predicate.register
def _age(test: plan.AgeTest, p: plan.Plan, indent: str, anchor: _Anchor | None = None) -> str:
    low_high = _between(test.bounds)
    rule = (anchor or _index_anchor()).age_rule
    if low_high:
        return _w("aged_between", low=low_high[0], high=low_high[1], rule=rule)
    return _w("aged", bounds=_age_bounds(test.bounds), rule=rule)


def _age_bounds(bounds: tuple[plan.Bound, ...]) -> str:
    return f" {_w('and')} ".join(_w(f"age_{b.op}", _number(b.value)) for b in bounds)


def _date_bounds(bounds: tuple[plan.DateBound, ...]) -> str:
    return f" {_w('and')} ".join(_w(f"date_{b.op}", _date(b.value)) for b in bounds)


@_predicate.register
def _sex(test: plan.SexTest, p: plan.Plan, indent: str, anchor: _Anchor | None = None) -> str:
    name = _SEX_NAMES.get(test.concept_id)
    if name:
        return _w("sex_named", name=_w(f"sex_{name}"), id=test.concept_id)
    return _w("sex_other", id=test.concept_id)


@_predicate.register
def _index_date(test: plan.IndexDateTest, p: plan.Plan, indent: str, anchor: _Anchor | None = None) -> str:
    low_high = _between(test.bounds, _date)
    if low_high:
        return _w("index_between", low=low_high[0], high=low_high[1])
    return _w("index_bounds", bounds=_date_bounds(test.bounds))


@_predicate.register
def _all_of(test: plan.AllOf, p: plan.Plan, indent: str, anchor: _Anchor | None = None) -> str:
    return _listed(_w("all_of"), test.children, p, indent, anchor)


@_predicate.register
def _any_of(test: plan.AnyOf, p: plan.Plan, indent: str, anchor: _Anchor | None = None) -> str:
    return _listed(_w("any_of"), test.children, p, indent, anchor)


@_predicate.register
def _at_least_of(test: plan.AtLeastOf, p: plan.Plan, indent: str, anchor: _Anchor | None = None) -> str:
    return _listed(_w("at_least_of", count=_number(test.count)), test.children, p, indent, anchor)


@_predicate.register
def _not(test: plan.NotTest, p: plan.Plan, indent: str, anchor: _Anchor | None = None) -> str:
    return _listed(_w("not"), (test.child,), p, indent, anchor)


# ---- events, attributes, windows --------------------------------------------------------


def _records(event: plan.EventQuery, p: plan.Plan, count: int) -> str:
    return _noun(event.domain, count) + _codeset_ref(event, p)


def _dated(event: plan.EventQuery, window: plan.Window) -> str:
    # Tables with an end date name their date column a start date; the others have one date.
    if window.event_end:
        return _w("with_end_date" if DOMAINS[event.domain].end_date else "with_end_date_next_day")
    return _w("with_start_date" if DOMAINS[event.domain].end_date else "dated")


def _codeset_ref(event: plan.EventQuery, p: plan.Plan, summary: bool = False) -> str:
    if event.codeset_id is None:
        return _w("of_any_concept")
    codeset = p.codeset(event.codeset_id)
    return _w("in_concept_set", name=codeset.name) + (f" ({', '.join(_codeset_items(codeset))})" if summary else "")


def _attributes(event: plan.EventQuery, p: plan.Plan, indent: str = "  ") -> list[str]:
    """Each attribute filter as a phrase that can follow a record noun."""
    phrases = [_w("first_ever")] if event.first else []
    if event.nested is not None:
        test = _predicate(event.nested, p, indent + "  ", _record_anchor(event))
        phrases.append(_w("nested", test=test + ("\n" + indent if "\n" in test else "")))
    if event.value:
        phrases.append(_w("value", amount=_of(_amount(event.value))))
    if event.value_codeset_id is not None:
        phrases.append(_w("value_set", name=p.codeset(event.value_codeset_id).name))
    if event.source_codeset_id is not None:
        phrases.append(_w("source_set", name=p.codeset(event.source_codeset_id).name))
    if event.unit_concept_ids:
        units = [_w("unit_named", symbol=_UNIT_NAMES[u], id=u) if u in _UNIT_NAMES else _w("concept", id=u)
                 for u in event.unit_concept_ids]
        phrases.append(_w("unit", units=_join(units, "or")))
    if event.visit_concept_ids:
        names = [_w(f"visit_{_VISIT_NAMES[v]}") if v in _VISIT_NAMES else _w("visit_type")
                 for v in event.visit_concept_ids]
        visits = _join([_w("visit_named", name=n, id=v) for n, v in zip(names, event.visit_concept_ids, strict=True)],
                       "or")
        phrases.append(_w("of_type" if event.domain == "visit" else "during_visit", visits=visits))
    if event.duration:
        phrases.append(_w("lasting", amount=_amount(event.duration, _w("days_unit"))))
    if event.days_supply:
        phrases.append(_w("days_supply", amount=_of(_amount(event.days_supply, _w("days_unit")))))
    if event.start_date:
        low_high = _between(event.start_date, _date)
        phrases.append(_w("start_between", low=low_high[0], high=low_high[1]) if low_high else
                       _w("start_bounds", bounds=_date_bounds(event.start_date)))  # fmt: skip
    if event.age:
        low_high = _between(event.age)
        bounds = _w("age_between", low=low_high[0], high=low_high[1]) if low_high else _age_bounds(event.age)
        phrases.append(_w("record_age", bounds=bounds))
    for concept_id in event.gender_concept_ids:
        name = _SEX_NAMES.get(concept_id)
        phrases.append(_w("record_sex", name=_w(f"sex_{name}") if name else concept_id, id=concept_id))
    for attribute in RANGE_ATTRIBUTES:
        if getattr(event, attribute):
            phrases.append(_w(attribute, amount=_of(_amount(getattr(event, attribute)))))
    for concept_filter in event.concept_filters:
        ids = _join([str(i) for i in concept_filter.concept_ids], "or")
        key = f"attribute_{concept_filter.attribute}"
        attribute = _w(key) if key in EXPLAIN["en"] else concept_filter.attribute.replace("_", " ")
        phrases.append(_w("concept_filter", attribute=attribute, ids=ids))
    return phrases


def _offset(day: int, anchor: _Anchor) -> str:
    if day == 0:
        return anchor.date
    return _w("offset", days=_days(abs(day)), direction=_w("before" if day < 0 else "after"), date=anchor.date)


def _range(start: int, end: int, anchor: _Anchor) -> str:
    """A closed window [start, end] in days from the anchor's date."""
    if start == end:
        return _w("on_index", date=anchor.date) if start == 0 else _w("exactly", offset=_offset(start, anchor))
    if start == 0:
        return _w("index_to", days=_days(end), date=anchor.date)
    if end == 0:
        return _w("to_index", days=_days(-start), date=anchor.date)
    direction = _w("before" if start < 0 else "after")
    return _w("span", days=_days(abs(start)), direction=direction, offset=_offset(end, anchor))


def _window(window: plan.Window, anchor: _Anchor) -> str:
    if window.index_end:
        anchor = dataclasses.replace(anchor, date=anchor.end)
    start, end, inside = window.start, window.end, window.within_observation
    ignoring = _w("ignoring")
    where = {"date": anchor.date, "period": anchor.period}
    if start is not None and end is not None:
        return _range(start, end, anchor) + (_w("inside", **where) if inside else ignoring)
    if start is None and end is None:
        return _w("any_time_inside", **where) if inside else _w("any_time") + ignoring
    if inside:
        if start is None and end == -1:
            return _w("before_inside", **where)
        if start is None:
            return _w("start_to", offset=_offset(end, anchor))
        if start == 1:
            return _w("after_inside", **where)
        return _w("to_end", offset=_offset(start, anchor))
    if start is None:
        text = _w("any_before", **where) if end == -1 else _w("up_to", offset=_offset(end, anchor))
    else:
        text = _w("any_after", **where) if start == 1 else _w("from_on", offset=_offset(start, anchor))
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
        return _w("between", low=low_high[0], high=low_high[1] + unit)
    return f" {_w('and')} ".join(_w(f"amount_{b.op}", _number(b.value) + unit) for b in bounds)


def _of(amount: str) -> str:
    if amount.startswith(("between", "other", "entre", "autre")):
        return _w("between_value", amount=amount) if _french() and amount.startswith("entre") else amount
    return _de(amount) if _french() else _w("of_amount", amount=amount)


def _number(value) -> str:
    if _french():
        from babel.numbers import format_decimal

        return format_decimal(value, locale="fr")
    return str(int(value)) if float(value).is_integer() else repr(value)


def _date(value) -> str:
    """A date of the definition: ISO in English (as written), CLDR's long form in French."""
    if not _french():
        return str(value)
    from babel.dates import format_date

    return format_date(datetime.date.fromisoformat(str(value)[:10]), "long", locale="fr")


def _days(n: int) -> str:
    return f"{_number(n)} {_plural(n, 'day')}"


def _plural(n: int, noun: str) -> str:
    """An English noun (`day`, or a domain's noun) or a message noun (`distinct_day`) for n of them."""
    if noun in EXPLAIN["en"]:
        singular, plural = EXPLAIN[_LANGUAGE.get()][noun]
        return singular if (abs(n) < 2 if _french() else n == 1) else plural
    return noun if n == 1 else noun + "s"


def _join(words: list[str], conjunction: str) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} {_w(conjunction)} {words[-1]}"
