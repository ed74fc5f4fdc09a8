"""Builds syntax-tree nodes from Lark's parse tree; it only builds, never decides."""

from __future__ import annotations

from decimal import Decimal

from lark import Token, Transformer, v_args

from cohortql.diagnostics import Source, Span
from cohortql.parse import ast


def _token_span(token: Token) -> Span:
    return Span(token.line, token.column, token.end_line, token.end_column)


def _meta_span(meta) -> Span:
    if getattr(meta, "empty", True):
        return ast.NO_SPAN
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _span_between(token: Token, node) -> Span:
    """From a token to the end of a node after it."""
    return Span(token.line, token.column, node.span.end_line, node.span.end_column)


def _unquote(token: Token) -> str:
    # The grammar admits backslash escapes of any character; `\"` and `\\` are the useful ones.
    body = str(token)[1:-1]
    out, escaped = [], False
    for char in body:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


def _int(token: Token) -> ast.Int:
    return ast.Int(int(token), _token_span(token))


def _node(cls):
    """The rule of a node whose children are its fields, in order: the node, with the rule's span."""

    def build(self, meta, children):
        return cls(*children, _meta_span(meta))

    return build


def _named(cls):
    """The rule of a node whose one field is the name its one child spells."""

    def build(self, meta, children):
        (name,) = children
        return cls(ast.Name(str(name), _token_span(name)), _meta_span(meta))

    return build


def _concept(cls):
    """`[exclude] ID ["label"] [with descendants]`: the concept set item `cls`."""

    def build(self, meta, children):
        concept_id, label, descendants = children
        return cls(_int(concept_id), _unquote(label) if label else None, bool(descendants), _meta_span(meta))

    return build


@v_args(meta=True)
class ToAst(Transformer):
    def __init__(self, source: Source):
        super().__init__()
        self._source = source

    # ---- leaves ----
    def number(self, meta, children):
        (token,) = children
        return ast.Number(Decimal(str(token)), _token_span(token))

    def descendants(self, meta, children):
        return True

    # Keyword choices (`!rule` in the grammar) arrive as their token(s); keep the words.
    def _words(self, meta, children):
        return " ".join(str(c) for c in children if c is not None)

    meta_field = entry_mode = qualify_mode = rule_kind = direction = days = cmp_op = anchor = _words

    def domain(self, meta, children):
        return "_".join(str(c) for c in children if c is not None)

    concept_column = range_column = domain  # `condition status` -> condition_status, the attribute key

    # ---- statements ----
    def start(self, meta, children):
        return ast.Definition(tuple(children))

    def meta_stmt(self, meta, children):
        key, value = children
        return ast.Meta(str(key), _unquote(value), _meta_span(meta))

    def concepts_stmt(self, meta, children):
        name, *items = children
        items = tuple(item for item in items if item is not None)
        return ast.ConceptSet(ast.Name(str(name), _token_span(name)), items, _meta_span(meta))

    concept_include = _concept(ast.ConceptInclude)
    concept_exclude = _concept(ast.ConceptExclude)

    def concept_source(self, meta, children):
        vocabulary, pattern = children
        return ast.SourceCodes(ast.Name(str(vocabulary), _token_span(vocabulary)), _unquote(pattern), _meta_span(meta))

    def entry_stmt(self, meta, children):
        mode, *events = children
        return ast.Entry(str(mode), tuple(events), _meta_span(meta))

    def observation_stmt(self, meta, children):
        return ast.Observation(tuple(c for c in children if c is not None), _meta_span(meta))

    def obs_span(self, meta, children):
        days, _unit, direction = children
        return ast.ObservationSpan(_int(days), str(direction), _meta_span(meta))

    def qualify_stmt(self, meta, children):
        mode, criterion = children
        return ast.Qualify(str(mode), criterion, _meta_span(meta))

    def rule_stmt(self, meta, children):
        kind, name, criterion = children
        return ast.Rule(str(kind), _unquote(name), criterion, _token_span(name), _meta_span(meta))

    def breakdown_stmt(self, meta, children):
        return ast.Breakdown(tuple(children), _meta_span(meta))

    def dimension(self, meta, children):
        (token,) = children
        return ast.Name(str(token), _token_span(token))

    # ---- events ----
    def event(self, meta, children):
        first, domain, name, *attributes = children
        concept_set = ast.Name(str(name), _token_span(name)) if name is not None else None
        return ast.Event(domain, concept_set, tuple(attributes), _meta_span(meta), first is not None)

    value_filter = _node(ast.ValueFilter)

    value_concept_filter = _named(ast.ValueConceptFilter)

    source_concept_filter = _named(ast.SourceConceptFilter)

    def unit_filter(self, meta, children):
        return ast.UnitFilter(tuple(children), _meta_span(meta))

    def unit(self, meta, children):
        (token,) = children
        value = _unquote(token) if token.type == "STRING" else int(token)
        return ast.Unit(value, _token_span(token))

    visit_type_filter = _node(ast.VisitTypeFilter)

    def visit_type(self, meta, children):
        (token,) = children
        return str(token) if token.type == "NAME" else int(token)

    def duration_filter(self, meta, children):
        comparison, _unit = children  # the unit word `days` is optional; the formatter always writes it
        return ast.DurationFilter(comparison, _meta_span(meta))

    days_supply_filter = _node(ast.DaysSupplyFilter)

    def concept_column_filter(self, meta, children):
        attribute, *concepts = children
        return ast.ConceptColumnFilter(attribute, tuple(concepts), _meta_span(meta))

    start_date_filter = _node(ast.StartDateFilter)

    age_filter = _node(ast.AgeFilter)

    sex_filter = _named(ast.SexFilter)

    range_filter = _node(ast.RangeFilter)

    nested_criterion = _node(ast.NestedCriterion)

    def concept_value(self, meta, children):
        concept_id, label = children
        return ast.AttributeConcept(_int(concept_id), _unquote(label) if label else None, _meta_span(meta))

    def compare(self, meta, children):
        op, value = children
        return ast.Compare(str(op), value, _meta_span(meta))

    between = _node(ast.Between)

    # ---- criteria ----
    event_criterion = _node(ast.EventCriterion)

    def at_least(self, meta, children):
        return self._occurrence("at_least", meta, children)

    def at_most(self, meta, children):
        return self._occurrence("at_most", meta, children)

    def exactly(self, meta, children):
        return self._occurrence("exactly", meta, children)

    def no_occurrence(self, meta, children):
        return ast.Occurrence("none", None, False, _meta_span(meta))

    def _occurrence(self, kind, meta, children):
        count, distinct = children
        return ast.Occurrence(kind, _int(count), distinct is not None, _meta_span(meta))

    def any_group(self, meta, children):
        return ast.Group("any", None, children[0], _meta_span(meta))

    def all_group(self, meta, children):
        return ast.Group("all", None, children[0], _meta_span(meta))

    def at_least_group(self, meta, children):
        count, criteria = children
        return ast.Group("at_least", _int(count), criteria, _meta_span(meta))

    def criterion_list(self, meta, children):
        return tuple(children)

    negation = _node(ast.Not)

    age_criterion = _node(ast.Age)

    sex_criterion = _named(ast.Sex)

    index_date_criterion = _node(ast.IndexDate)

    def date_compare(self, meta, children):
        op, date = children
        return ast.DateCompare(str(op), str(date), _meta_span(meta))

    def date_between(self, meta, children):
        low, high = children
        return ast.DateBetween(str(low), str(high), _meta_span(meta))

    # ---- windows ----
    def window(self, meta, children):
        date, span_, also_date, also_span, ignore = children
        also = None
        if also_span is not None:
            also = ast.DatedSpan(str(also_date), also_span, _span_between(also_date, also_span))
        return ast.Window(span_, ignore is not None, _meta_span(meta), None if date is None else str(date), also)

    def record_date(self, meta, children):
        (token,) = children
        return token

    def within(self, meta, children):
        days, _unit, direction, anchor = children
        return ast.Within(_int(days), str(direction), anchor, _meta_span(meta))

    def around(self, meta, children):
        days, _unit, anchor = children
        return ast.Around(_int(days), anchor, _meta_span(meta))

    from_to = _node(ast.FromTo)

    def day_offset(self, meta, children):
        days, _unit, direction, anchor = children
        return ast.Offset(_int(days), str(direction), anchor, _meta_span(meta))

    def index_offset(self, meta, children):
        return ast.Offset(None, None, children[0], _meta_span(meta))

    def open_offset(self, meta, children):
        direction, anchor = children
        return ast.Offset(None, str(direction), anchor, _meta_span(meta))

    def any_time_relative(self, meta, children):
        direction, anchor = children
        return ast.AnyTime(str(direction), anchor, _meta_span(meta))

    def any_time(self, meta, children):
        return ast.AnyTime(None, "index", _meta_span(meta))

    on_index = _node(ast.OnIndex)
