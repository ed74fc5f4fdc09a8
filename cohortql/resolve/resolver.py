"""Checks names, numbers, windows and attributes, and builds the plan.

Every problem is collected with its span; the plan is built only when there are none.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib

from cohortql.diagnostics import CohortQLError, Diagnostic, Source, Span
from cohortql.omop import (
    BREAKDOWNS,
    DOMAINS,
    GENDER_CONCEPTS,
    MAX_AGE,
    MAX_CONCEPT_ID,
    MAX_DAYS,
    MAX_OCCURRENCES,
    MAX_RULES,
    MAX_VALUE,
    MAX_VALUE_DIGITS,
    RANGE_ATTRIBUTES,
    SOURCE_VOCABULARIES,
    UNIT_CONCEPTS,
    VISIT_CONCEPTS,
)
from cohortql.parse import ast
from cohortql.resolve import plan
from cohortql.resolve.breakdowns import breakdown_problems

FIRST_LINE = Span(1, 1, 1, 2)

# Plan field -> (what the user wrote, how to combine two such filters).
_FILTER_WORDS = {
    "value": ("with value", "combine them into one, e.g. `with value between 7 and 10`"),
    "value_codeset_id": ("with value concept", "put the value concepts in one concept set"),
    "source_codeset_id": ("with source concept", "put the source concepts in one concept set"),
    "unit_concept_ids": ("with unit", 'list the units in one filter, e.g. `with unit "%", "mmol/mol"`'),
    "visit_concept_ids": ("with visit type", "use one visit type, or `inpatient_or_emergency`"),
    "duration": ("with duration", "combine them into one, e.g. `with duration between 30 and 90 days`"),
    "days_supply": ("with days supply", "combine them into one, e.g. `with days supply between 30 and 90`"),
    "start_date": ("with start date", "combine them into one: `with start date between 2010-01-01 and 2015-12-31`"),
    "age": ("with age", "combine them into one, e.g. `with age between 18 and 65`"),
    "gender_concept_ids": ("with sex", "give one sex"),
    **{key: (f"with {words}", f"combine them into one, e.g. `with {words} between 1 and 2`")
       for key, words in ((key, key.replace("_", " ")) for key in RANGE_ATTRIBUTES)},
}

# Attribute key of each attribute node (concept column filters carry their own).
_ATTRIBUTE_KEYS = {
    ast.ValueFilter: "value",
    ast.ValueConceptFilter: "value_concept",
    ast.SourceConceptFilter: "source_concept",
    ast.UnitFilter: "unit",
    ast.VisitTypeFilter: "visit_type",
    ast.DurationFilter: "duration",
    ast.DaysSupplyFilter: "days_supply",
    ast.StartDateFilter: "start_date",
    ast.AgeFilter: "age",
    ast.SexFilter: "sex",
}
_VALUE_HINT = "value, value concept and unit filters apply to measurement and observation"
# Attribute key -> (code, what the records lack, hint) when the domain does not have it.
_NOT_APPLICABLE = {
    "value": ("E106", "have no value", _VALUE_HINT),
    "value_concept": ("E106", "have no value concept", _VALUE_HINT),
    "unit": ("E106", "have no unit", _VALUE_HINT),
    "visit_type": ("E111", "are not linked to a visit", None),
    "duration": ("E111", "have no end date, so no duration", None),
    "days_supply": ("E111", "have no days supply", "days supply applies to drug exposures"),
    "source_concept": ("E111", "have no source concept", None),
    **{key: ("E111", "have no normal range (range_low, range_high)", "range filters apply to measurement")
       for key in RANGE_ATTRIBUTES},
}


def _attribute_key(attribute: ast.Attribute) -> str:
    if isinstance(attribute, ast.ConceptColumnFilter | ast.RangeFilter):
        return attribute.attribute
    return _ATTRIBUTE_KEYS[type(attribute)]


def _domain_words(domains) -> str:
    words = [d.replace("_", " ") for d in domains]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


_DAYS_HINT = (f"at most {MAX_DAYS:,} days (100 years); for no limit write `any time before index` "
              "or `from all days before index to ...`")
_DAYS = "{} days is more than 100 years"
_RECORDS = "{} records are more than one person has"


def _shown(number) -> str:
    """A number as written, shortened when it runs past what a message line holds."""
    text = str(number)
    digits = sum(char.isdigit() for char in text)
    return text if digits <= 30 else f"{text[:12]}... ({digits} digits)"


def _did_you_mean(word: str, choices, label: str) -> str:
    choices = sorted(choices)
    same_but_case = [choice for choice in choices if choice.lower() == word.lower()]
    close = same_but_case or difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    if not choices:
        return f"there are no {label.split(' (')[0].removeprefix('defined ')} yet"
    return f"{label}: " + ", ".join(choices)


class _Resolver:
    def __init__(self, definition: ast.Definition, source: Source):
        self.definition = definition
        self.source = source
        self.errors: list[Diagnostic] = []
        self.codesets: dict[str, plan.Codeset] = {}
        self.codeset_spans: dict[str, ast.Span] = {}
        self.invalid_codesets: set[str] = set()  # defined but already reported; not "unknown" too
        self.nesting = 0  # how many nested criteria (`with (...)`) enclose what is being resolved

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.errors.append(Diagnostic(code, message, span, hint))

    # ---- top level ----
    def run(self) -> plan.Plan | None:
        statements = self.definition.statements
        # Concept sets first: rules may refer to a set defined further down.
        for statement in statements:
            if isinstance(statement, ast.ConceptSet):
                self.concept_set(statement)
        metadata = self.metadata([s for s in statements if isinstance(s, ast.Meta)])
        entry = self.entry(
            [s for s in statements if isinstance(s, ast.Entry)],
            [s for s in statements if isinstance(s, ast.Observation)],
            [s for s in statements if isinstance(s, ast.Qualify)],
        )
        rules = self.rules([s for s in statements if isinstance(s, ast.Rule)])
        breakdown = self.breakdown([s for s in statements if isinstance(s, ast.Breakdown)])
        if self.errors:
            return None
        return plan.Plan(metadata, tuple(self.codesets.values()), entry, rules, breakdown)

    def metadata(self, metas: list[ast.Meta]) -> tuple[tuple[str, str], ...]:
        seen: dict[str, ast.Meta] = {}
        for meta in metas:
            if meta.key in seen:
                self.error(
                    "E113", f"`{meta.key}` is given twice", meta.span, f"first given on line {seen[meta.key].span.line}"
                )
            else:
                seen[meta.key] = meta
        return tuple((m.key, m.value) for m in seen.values())

    def concept_set(self, node: ast.ConceptSet) -> None:
        name = node.name.text
        if name in self.codesets:
            self.error(
                "E102",
                f"concept set `{name}` is defined twice",
                node.name.span,
                f"first defined on line {self.codeset_spans[name].line}",
            )
            return
        items, sources = [], []
        for item in node.items:
            if isinstance(item, ast.SourceCodes):
                vocabulary = item.vocabulary.text
                if vocabulary not in SOURCE_VOCABULARIES:
                    self.error(
                        "E119",
                        f"unknown source vocabulary `{vocabulary}`",
                        item.vocabulary.span,
                        _did_you_mean(vocabulary, SOURCE_VOCABULARIES, "known vocabularies"),
                    )
                elif not item.pattern:
                    self.error(
                        "E117", "empty source code pattern", item.span, 'give a code or a pattern such as "E11%"'
                    )
                sources.append(plan.SourceCodes(vocabulary, item.pattern))
                continue
            concept_id = item.concept_id.value
            if concept_id <= 0:
                self.error("E108", f"concept id must be a positive number, not {concept_id}", item.concept_id.span)
            self.concept_id_fits(concept_id, "concept id", item.concept_id.span)
            items.append(plan.ConceptItem(concept_id, item.descendants, isinstance(item, ast.ConceptExclude)))
        if not any(not i.excluded for i in items) and not sources:
            self.error(
                "E117",
                f"concept set `{name}` selects no concepts",
                node.span,
                "add a concept id or a source code; exclusions alone select nothing",
            )
            self.invalid_codesets.add(name)
            return
        self.codeset_spans[name] = node.name.span
        self.codesets[name] = plan.Codeset(len(self.codesets), name, tuple(items), tuple(sources))

    def entry(
        self, entries: list[ast.Entry], observations: list[ast.Observation], qualifies: list[ast.Qualify]
    ) -> plan.Entry | None:
        if not entries:
            self.error(
                "E104",
                "the definition has no entry event",
                FIRST_LINE,
                "add a line such as `entry first condition T2DM`",
            )
            return None
        for extra in entries[1:]:
            self.error(
                "E105",
                "only one `entry` statement is allowed",
                extra.span,
                f"the entry is already given on line {entries[0].span.line}; for alternative entry events "
                "write them in one: `entry earliest condition A or drug B`",
            )
        for extra in observations[1:]:
            self.error(
                "E118",
                "only one observation requirement is allowed",
                extra.span,
                f"already given on line {observations[0].span.line}",
            )
        prior = post = 0
        if observations:
            seen = set()
            for span_ in observations[0].spans:
                if span_.direction in seen:
                    self.error(
                        "E118",
                        f"two `{span_.direction}` spans in one observation requirement",
                        span_.span,
                        "give one span before and one after, e.g. "
                        "`require observation 365 days before and 30 days after index`",
                    )
                seen.add(span_.direction)
                days = self.whole(span_.days, "observation days")
                if span_.direction == "before":
                    prior = days
                else:
                    post = days
        for event in entries[0].events:
            if event.first:
                self.error(
                    "E138",
                    "`first ever` on an entry event",
                    event.span,
                    "write `entry first ...` for each person's first-ever entry record",
                )
        events = [self.event(event) for event in entries[0].events]
        qualify = self.qualify(qualifies, entries[0].mode)
        if any(event is None for event in events) or qualify is False:
            return None
        return plan.Entry(entries[0].mode, tuple(events), prior, post, qualify)

    def qualify(self, qualifies: list[ast.Qualify], entry_mode: str) -> plan.Qualify | None | bool:
        """The criterion entry events must meet before the rules; False when it has errors."""
        for extra in qualifies[1:]:
            self.error(
                "E136",
                "only one `qualify` statement is allowed",
                extra.span,
                f"already given on line {qualifies[0].span.line}; combine the criteria with `all of (...)`",
            )
        if not qualifies:
            return None
        test = self.test(qualifies[0].criterion)
        if test is None:
            return False
        # Only `entry all` leaves a person several entry events to keep the earliest of.
        return plan.Qualify(test, qualifies[0].mode == "earliest" and entry_mode == "all")

    def rules(self, rules: list[ast.Rule]) -> tuple[plan.Rule, ...]:
        seen: dict[str, ast.Rule] = {}
        resolved = []
        for rule in rules:
            if not rule.name.strip():
                self.error("E131", "a rule needs a name", rule.name_span, 'for example `include "age 18+": age >= 18`')
            if rule.name in seen:
                self.error(
                    "E103",
                    f"rule `{rule.name}` is defined twice",
                    rule.name_span,
                    f"first defined on line {seen[rule.name].span.line}; rule names label the attrition steps",
                )
                continue
            seen[rule.name] = rule
            test = self.test(rule.criterion)
            if test is not None:
                resolved.append(plan.Rule(rule.name, rule.kind, test))
        if len(seen) > MAX_RULES:
            self.error(
                "E132",
                f"too many rules (at most {MAX_RULES})",
                rules[MAX_RULES].span,
                "combine rules with `all of (...)`",
            )
        return tuple(resolved)

    def breakdown(self, breakdowns: list[ast.Breakdown]) -> tuple[str, ...]:
        for extra in breakdowns[1:]:
            self.error(
                "E122",
                "only one breakdown statement is allowed",
                extra.span,
                "list several dimensions in one: `breakdown by site, sex`",
            )
        if not breakdowns:
            return ()
        names = breakdowns[0].dimensions
        for problem in breakdown_problems([name.text for name in names]):
            span = breakdowns[0].span if problem.index is None else names[problem.index].span
            self.error("E112", problem.message, span, problem.hint)
        return tuple(dict.fromkeys(name.text for name in names if name.text in BREAKDOWNS))

    # ---- events ----
    def codeset_ref(self, name: ast.Name) -> int | None:
        if name.text in self.codesets:
            return self.codesets[name.text].id
        if name.text in self.invalid_codesets:
            return None
        self.error(
            "E101",
            f"unknown concept set `{name.text}`",
            name.span,
            _did_you_mean(name.text, self.codesets, "defined concept sets"),
        )
        return None

    def event(self, node: ast.Event) -> plan.EventQuery | None:
        table = DOMAINS[node.domain]
        ok = True
        codeset_id = None
        if node.concept_set is not None:
            codeset_id = self.codeset_ref(node.concept_set)
            ok = ok and codeset_id is not None
        fields: dict = {}
        for attribute in node.attributes:
            ok = self.attribute(attribute, node.domain, table, fields) and ok
        if not ok:
            return None
        return plan.EventQuery(node.domain, codeset_id, **fields, first=node.first)

    def attribute(self, attribute, domain: str, table, fields: dict) -> bool:
        if isinstance(attribute, ast.NestedCriterion):
            return self.nested(attribute, fields)
        key = _attribute_key(attribute)
        if key not in table.attributes:
            self.not_applicable(key, domain, attribute.span)
            return False
        if isinstance(attribute, ast.ConceptColumnFilter):
            return self.concept_column_filter(attribute, fields)
        if isinstance(attribute, ast.ValueFilter):
            return self.set_once(fields, "value", self.bounds(attribute.comparison, "value"), attribute.span)
        if isinstance(attribute, ast.ValueConceptFilter | ast.SourceConceptFilter):
            codeset_id = self.codeset_ref(attribute.concept_set)
            field = "value_codeset_id" if isinstance(attribute, ast.ValueConceptFilter) else "source_codeset_id"
            return codeset_id is not None and self.set_once(fields, field, codeset_id, attribute.span)
        if isinstance(attribute, ast.UnitFilter):
            ids = []
            for unit in attribute.units:
                if isinstance(unit.value, int):
                    if unit.value <= 0:
                        self.error("E108", "unit concept id must be positive", unit.span)
                    self.concept_id_fits(unit.value, "unit concept id", unit.span)
                    ids.append(unit.value)
                elif unit.value in UNIT_CONCEPTS:
                    ids.append(UNIT_CONCEPTS[unit.value])
                else:
                    self.error(
                        "E109",
                        f"unknown unit `{unit.value}`",
                        unit.span,
                        _did_you_mean(unit.value, UNIT_CONCEPTS, "known units (or give a unit concept id)"),
                    )
            return self.set_once(fields, "unit_concept_ids", tuple(ids), attribute.span)
        if isinstance(attribute, ast.VisitTypeFilter):
            value = attribute.value
            if isinstance(value, int) and value <= 0:
                self.error("E108", "visit concept id must be positive", attribute.span)
                return False
            end = attribute.span  # the visit type is the filter's last word
            value_span = Span(end.end_line, end.end_column - len(str(value)), end.end_line, end.end_column)
            if isinstance(value, int) and not self.concept_id_fits(value, "visit concept id", value_span):
                return False
            if isinstance(value, str):
                if value not in VISIT_CONCEPTS:
                    self.error(
                        "E110",
                        f"unknown visit type `{value}`",
                        value_span,
                        _did_you_mean(value, VISIT_CONCEPTS, "visit types (or give a visit concept id)"),
                    )
                    return False
                value = VISIT_CONCEPTS[value]
            return self.set_once(fields, "visit_concept_ids", (value,), attribute.span)
        if isinstance(attribute, ast.DurationFilter):
            duration = self.bounds(attribute.comparison, "duration", MAX_DAYS, _DAYS_HINT, _DAYS)
            return self.set_once(fields, "duration", duration, attribute.span)
        if isinstance(attribute, ast.DaysSupplyFilter):
            days_supply = self.bounds(attribute.comparison, "days supply", MAX_DAYS, _DAYS_HINT, _DAYS)
            return self.set_once(fields, "days_supply", days_supply, attribute.span)
        if isinstance(attribute, ast.StartDateFilter):
            dates = self.date_bounds(attribute.comparison)
            return dates is not None and self.set_once(fields, "start_date", dates, attribute.span)
        if isinstance(attribute, ast.AgeFilter):
            return self.set_once(fields, "age", self.age_bounds(attribute.comparison), attribute.span)
        if isinstance(attribute, ast.SexFilter):
            concept_id = self.gender(attribute.value)
            return concept_id is not None and self.set_once(fields, "gender_concept_ids", (concept_id,), attribute.span)
        if isinstance(attribute, ast.RangeFilter):
            bounds = self.bounds(attribute.comparison, attribute.attribute.replace("_", " "))
            return self.set_once(fields, attribute.attribute, bounds, attribute.span)
        raise AssertionError(f"unhandled attribute {attribute!r}")

    def nested(self, attribute: ast.NestedCriterion, fields: dict) -> bool:
        self.nesting += 1
        test = self.test(attribute.criterion)
        self.nesting -= 1
        if "nested" in fields:
            self.error("E133", "the `with (...)` criterion is given twice", attribute.span,
                       "combine them into one: `with (all of (..., ...))`")  # fmt: skip
            return False
        fields["nested"] = test
        return test is not None

    def anchors(self, node: ast.WindowSpan) -> None:
        """`it` only inside a nested criterion, and `index` only outside one (E134)."""
        parts = [node.start, node.end] if isinstance(node, ast.FromTo) else [node]
        expected = "it" if self.nesting else "index"
        for part in parts:
            if isinstance(part, ast.AnyTime) and part.direction is None or part.anchor.split()[0] == expected:
                continue
            if self.nesting:
                message = "inside `with (...)` a window is relative to the record, not the index"
                hint = "write `it` for the record instead of `index`, e.g. `within 30 days after it`"
            else:
                message = "`it` is the record of a nested criterion; here there is none"
                hint = "a rule's windows are relative to the index: write `index`"
            self.error("E134", message, part.span, hint)
            return

    def not_applicable(self, key: str, domain: str, span: Span) -> None:
        applies = [d for d, t in DOMAINS.items() if key in t.attributes]
        what = key.replace("_", " ")
        code, lack, hint = _NOT_APPLICABLE.get(key, ("E111", f"have no {what}", None))
        if hint is None:
            hint = f"{what} applies to {_domain_words(applies)}"
        self.error(code, f"`{domain.replace('_', ' ')}` records {lack}", span, hint)

    def concept_column_filter(self, attribute: ast.ConceptColumnFilter, fields: dict) -> bool:
        ids = []
        for concept in attribute.concepts:
            if concept.concept_id.value <= 0:
                self.error("E108", "concept id must be a positive number", concept.concept_id.span)
                return False
            if not self.concept_id_fits(concept.concept_id.value, "concept id", concept.concept_id.span):
                return False
            ids.append(concept.concept_id.value)
        concept_filters = fields.setdefault("concept_filters", ())
        if any(f.attribute == attribute.attribute for f in concept_filters):
            what = attribute.attribute.replace("_", " ")
            hint = f"list the concepts in one: `with {what} 1, 2`"
            self.error("E133", f"the `with {what}` filter is given twice", attribute.span, hint)
            return False
        fields["concept_filters"] = (*concept_filters, plan.ConceptFilter(attribute.attribute, tuple(ids)))
        return True

    def set_once(self, fields: dict, key: str, value, span: Span) -> bool:
        if key in fields:
            word, hint = _FILTER_WORDS[key]
            self.error("E133", f"the `{word}` filter is given twice", span, hint)
            return False
        fields[key] = value
        return True

    def concept_id_fits(self, concept_id: int, what: str, span: Span) -> bool:
        if concept_id <= MAX_CONCEPT_ID:
            return True
        hint = f"concept ids are at most {MAX_CONCEPT_ID} (a BIGINT column); is a digit repeated?"
        self.error("E135", f"{what} {_shown(concept_id)} is too large", span, hint)
        return False

    def number_fits(self, number: ast.Number, what: str, limit: int, hint: str | None, beyond: str) -> None:
        """A number of a comparison: within `limit` in magnitude, and exact as the double it becomes."""
        value = number.value
        if abs(value) > limit:
            self.error("E135", beyond.format(_shown(value)), number.span,
                       hint or f"{what}s are at most {limit:,} in magnitude")
        elif len(value.normalize().as_tuple().digits) > MAX_VALUE_DIGITS:
            self.error("E135", f"{what} {_shown(value)} has more digits than a double holds", number.span,
                       f"round it to {MAX_VALUE_DIGITS} significant digits: the engines compare doubles")

    def bounds(
        self, comparison: ast.Comparison, what: str, limit: int = MAX_VALUE, hint: str | None = None,
        beyond: str = "{} is too large a value",
    ) -> tuple[plan.Bound, ...]:
        numbers = [comparison.value] if isinstance(comparison, ast.Compare) else [comparison.low, comparison.high]
        for number in numbers:
            self.number_fits(number, what, limit, hint, beyond)
        if isinstance(comparison, ast.Compare):
            return (plan.Bound(comparison.op, float(comparison.value.value)),)
        low, high = comparison.low.value, comparison.high.value
        if low > high:
            self.error(
                "E114",
                f"{what} range is empty: {low} is above {high}",
                comparison.span,
                f"write `between {high} and {low}`",
            )
        return (plan.Bound(">=", float(low)), plan.Bound("<=", float(high)))

    # ---- criteria ----
    def test(self, node: ast.Criterion) -> plan.Test | None:
        if isinstance(node, ast.EventCriterion):
            return self.occurs(node)
        if isinstance(node, ast.Group):
            children = [self.test(child) for child in node.children]
            if any(child is None for child in children):
                return None
            if node.kind == "any":
                return plan.AnyOf(tuple(children))
            if node.kind == "all":
                return plan.AllOf(tuple(children))
            n = node.count.value
            if not 1 <= n <= len(children):
                self.error(
                    "E116",
                    f"`at least {n} of` needs between 1 and {len(children)} here",
                    node.count.span,
                    f"the group has {len(children)} criteria",
                )
                return None
            return plan.AtLeastOf(n, tuple(children))
        if isinstance(node, ast.Not):
            child = self.test(node.child)
            return None if child is None else plan.NotTest(child)
        if isinstance(node, ast.Age):
            return plan.AgeTest(self.age_bounds(node.comparison))
        if isinstance(node, ast.Sex):
            concept_id = self.gender(node.value)
            return None if concept_id is None else plan.SexTest(concept_id)
        if isinstance(node, ast.IndexDate):
            if self.nesting:
                self.error("E134", "`index date` inside `with (...)`: there the anchor is the record", node.span,
                           "a nested criterion has no index date; filter the dates of the outer rule")  # fmt: skip
                return None
            return self.index_date(node)
        raise AssertionError(f"unhandled criterion {node!r}")

    def age_bounds(self, comparison: ast.Comparison) -> tuple[plan.Bound, ...]:
        hint = f"ages are at most {MAX_AGE}; for no upper bound write `age >= N`"
        bounds = self.bounds(comparison, "age", MAX_AGE, hint, "age {} is beyond a human life")
        if any(b.value < 0 for b in bounds):
            self.error("E108", "age cannot be negative", comparison.span)
        return bounds

    def gender(self, name: ast.Name) -> int | None:
        if name.text not in GENDER_CONCEPTS:
            hint = _did_you_mean(name.text, GENDER_CONCEPTS, "sexes")
            self.error("E121", f"unknown sex `{name.text}`", name.span, hint)
            return None
        return GENDER_CONCEPTS[name.text]

    def index_date(self, node: ast.IndexDate) -> plan.IndexDateTest | None:
        bounds = self.date_bounds(node.comparison)
        return None if bounds is None else plan.IndexDateTest(bounds)

    def date_bounds(self, comparison: ast.DateCompare | ast.DateBetween) -> tuple[plan.DateBound, ...] | None:
        """The bounds of a date comparison, its dates checked (None when one is wrong, reported)."""
        dates = [comparison.date] if isinstance(comparison, ast.DateCompare) else [comparison.low, comparison.high]
        parsed = []
        for text in dates:
            try:
                parsed.append(datetime.date.fromisoformat(text))
            except ValueError as problem:
                line = self.source.line(comparison.span.line)
                column = line.find(text, comparison.span.column - 1) + 1 or comparison.span.column
                span = Span(comparison.span.line, column, comparison.span.line, column + len(text))
                self.error("E115", f"`{text}` is not a calendar date", span, f"{problem} (dates are YYYY-MM-DD)")
                return None
        if isinstance(comparison, ast.DateCompare):
            return (plan.DateBound(comparison.op, comparison.date),)
        if parsed[0] > parsed[1]:
            self.error(
                "E114",
                f"date range is empty: {comparison.low} is after {comparison.high}",
                comparison.span,
                f"write `between {comparison.high} and {comparison.low}`",
            )
            return None
        return (plan.DateBound(">=", comparison.low), plan.DateBound("<=", comparison.high))

    def occurs(self, node: ast.EventCriterion) -> plan.Occurs | None:
        event = self.event(node.event)
        window = self.window(node.window)
        occurrence = node.occurrence
        if occurrence is None:
            op, count, distinct = ">=", 1, False
        elif occurrence.kind == "none":
            op, count, distinct = "=", 0, False
        else:
            op = {"at_least": ">=", "at_most": "<=", "exactly": "="}[occurrence.kind]
            hint = f"record counts are at most {MAX_OCCURRENCES:,} (of one person's records)"
            count = self.whole(occurrence.count, "count", MAX_OCCURRENCES, hint, _RECORDS)
            distinct = occurrence.distinct_days
        also = None
        if node.window.also is not None:
            also = self.window_span(node.window.also.span_, window is None or window.within_observation,
                                    node.window.also.date == "ending")  # fmt: skip
        if event is None or window is None or (node.window.also is not None and also is None):
            return None
        return plan.Occurs(event, op, count, distinct, window, also)

    def whole(
        self, value: ast.Int, what: str, limit: int = MAX_DAYS, hint: str = _DAYS_HINT, beyond: str = _DAYS
    ) -> int:
        """A count of days or records: 0 to `limit` (0 stands in for a wrong one, already reported)."""
        if value.value < 0:
            self.error(
                "E108",
                f"{what} cannot be negative ({value.value})",
                value.span,
                "use `before`/`after` for direction; numbers are counts of days or records",
            )
            return 0
        if value.value > limit:
            self.error("E135", beyond.format(_shown(value.value)), value.span, hint)
            return 0
        return value.value

    def window(self, node: ast.Window) -> plan.Window | None:
        return self.window_span(node.span_, not node.ignore_observation, node.date == "ending")

    def window_span(self, shape: ast.WindowSpan, within: bool, event_end: bool) -> plan.Window | None:
        """The window in days, tested on the record's start date (its end date with `event_end`)."""
        self.anchors(shape)
        window = self.days_window(shape, within)
        if window is None:
            return None
        parts = [shape.start, shape.end] if isinstance(shape, ast.FromTo) else [shape]
        ends = {p.anchor.endswith(" end") for p in parts}
        if len(ends) > 1:
            self.error(
                "E137",
                "a window cannot be measured from both a date and that record's end",
                shape.span,
                "write `index` at both ends, or `index end` at both (Circe has one anchor per window)",
            )
            return None
        return dataclasses.replace(window, event_end=event_end, index_end=ends.pop())

    def days_window(self, shape: ast.WindowSpan, within: bool) -> plan.Window | None:
        if isinstance(shape, ast.Within):
            if not 0 <= shape.days.value <= MAX_DAYS:
                self.whole(shape.days, "days")
                return None
            days = shape.days.value
            if days == 0:
                self.error(
                    "E107",
                    f"`within 0 days {shape.direction} index` is an empty window",
                    shape.span,
                    "use `on index` for the index date itself",
                )
                return None
            return plan.Window(-days, -1, within) if shape.direction == "before" else plan.Window(1, days, within)
        if isinstance(shape, ast.Around):
            days = self.whole(shape.days, "days")
            return plan.Window(-days, days, within)
        if isinstance(shape, ast.OnIndex):
            return plan.Window(0, 0, within)
        if isinstance(shape, ast.AnyTime):
            if shape.direction == "before":
                return plan.Window(None, -1, within)
            if shape.direction == "after":
                return plan.Window(1, None, within)
            return plan.Window(None, None, within)
        inward = [o for o, outward in ((shape.start, "before"), (shape.end, "after"))
                  if o.days is None and o.direction not in (None, outward)]  # fmt: skip
        if inward:
            self.error(
                "E107",
                f"`all days {inward[0].direction} index` cannot be this end of a window",
                inward[0].span,
                "an open window starts `from all days before index` or ends `to all days after index`",
            )
            return None
        reported = len(self.errors)
        start, end = self.offset(shape.start), self.offset(shape.end)
        if len(self.errors) > reported:
            return None
        if start is not None and end is not None and start > end:
            self.error(
                "E107",
                "the window starts after it ends",
                shape.span,
                f"day {start} is after day {end}; swap the two ends",
            )
            return None
        return plan.Window(start, end, within)

    def offset(self, node: ast.Offset) -> int | None:
        """Days from the index; None for an open end (`all days before|after index`)."""
        if node.days is None:
            return None if node.direction else 0
        days = self.whole(node.days, "days")
        return -days if node.direction == "before" else days


def resolve(definition: ast.Definition, source: Source | None = None) -> plan.Plan:
    """Resolve a syntax tree into a plan; raise `CohortQLError` with every problem found."""
    source = source or Source("<string>", "")
    resolver = _Resolver(definition, source)
    result = resolver.run()
    if resolver.errors:
        ordered = sorted(resolver.errors, key=lambda d: (d.span.line, d.span.column))
        raise CohortQLError(source, tuple(ordered))
    assert result is not None
    return result


__all__ = ["resolve"]
