"""Formatter: syntax tree -> canonical CohortQL text, with the comments kept.

`format_definition(parse(text))` parses back to an equal tree and is a fixed point of
`cohortql fmt`. The rules are few so that the output is predictable:

Layout
- Statements in the order written, one per line (or per block, below).
- Statements fall into five kinds: metadata, concept sets, entry (with its observation
  requirement and qualify criterion), rules, breakdown. One blank line separates
  consecutive statements of different kinds; statements of the same kind are not separated.
- A concept set with at most one item is one line: `concepts X = {192671 "label" with descendants}`.
  With several items, one item per line, indented 4 spaces, each with a trailing comma, and
  `}` alone on the last line.
- A rule (or `qualify`) is one line unless its criterion contains a group (`any of`, `all of`,
  `at least N of`) outside a nested criterion; a nested criterion (`with (...)`) is always
  written on its event's line, its groups too. A group prints one child per line, 4 more spaces per level, each with a
  trailing comma, and `)` alone on a line at the group's own indentation.

Spelling
- What the tree keeps is written as the user wrote it: an omitted occurrence stays omitted,
  numbers keep their digits (`7.0` stays `7.0`; `0.0000001` never becomes `1E-7`).
- What the tree does not keep gets one spelling: `day` after 1 or -1 and `days` otherwise,
  but always `distinct days of`; a duration filter always names its unit (`with duration >= 90 days`); strings are
  re-quoted with `\\"` and `\\\\` escaped; single spaces between words; `, ` between list items.

Comments (located by the statements' source spans)
- A comment after the last token of a statement's last line stays there, two spaces before `#`.
- A comment inside a statement that spans several lines moves, in order, onto its own lines
  just before that statement (after the statement's own leading comments).
- Other comments stay on their own lines before the statement that follows them, or at the
  end when no statement follows. One blank line the user left before such a comment, between
  two of them, or between the last of them and its statement is kept; longer runs of blank
  lines shrink to one.
- Trailing whitespace in a comment is dropped. Statements without source spans (trees built
  in code) keep their comments at the end.

The output ends with exactly one newline; an empty definition formats to the empty text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from cohortql.parse import ast

INDENT = "    "

_KIND = {
    ast.Meta: "meta",
    ast.ConceptSet: "concepts",
    ast.Entry: "entry",
    ast.Observation: "entry",
    ast.Qualify: "entry",
    ast.Rule: "rules",
    ast.Breakdown: "breakdown",
}


def format_definition(definition: ast.Definition) -> str:
    """The canonical text of `definition`, comments included."""
    statements = definition.statements
    placed = _place_comments(statements, sorted(definition.comments, key=lambda c: (c.line, c.column)))
    lines: list[str] = []
    previous: ast.Statement | None = None
    for index, statement in enumerate(statements):
        where = placed[index]
        if previous is not None:
            separate = _KIND[type(statement)] != _KIND[type(previous)]
            if where.leading and where.leading[0].line - previous.span.end_line > 1:
                separate = True
            if separate:
                lines.append("")
        _comment_lines(where.leading, lines)
        if where.leading and statement.span.line - where.leading[-1].line > 1:
            lines.append("")
        lines.extend(_comment_text(c) for c in where.inside)
        text = _statement(statement).split("\n")
        if where.trailing is not None:
            text[-1] += "  " + _comment_text(where.trailing)
        lines.extend(text)
        previous = statement
    tail = placed[len(statements)].leading
    if tail and previous is not None and tail[0].line - previous.span.end_line > 1:
        lines.append("")
    _comment_lines(tail, lines)
    return "\n".join(lines) + "\n" if lines else ""


# ---- comments ------------------------------------------------------------------------------


@dataclass
class _Placement:
    """Where the comments that belong to one statement go."""

    leading: list[ast.Comment] = field(default_factory=list)
    inside: list[ast.Comment] = field(default_factory=list)
    trailing: ast.Comment | None = None


def _place_comments(statements: tuple[ast.Statement, ...], comments: list[ast.Comment]) -> list[_Placement]:
    """One placement per statement, plus one for the comments after the last statement."""
    placed = [_Placement() for _ in range(len(statements) + 1)]
    starts = [(s.span.line, s.span.column) for s in statements]
    ends = [(s.span.end_line, s.span.end_column) for s in statements]
    for comment in comments:
        at = (comment.line, comment.column)
        inside = next((i for i in range(len(statements)) if starts[i] < at < ends[i]), None)
        if inside is not None:
            placed[inside].inside.append(comment)
            continue
        # The last statement that ends on the comment's line, before it.
        ending = [i for i in range(len(statements)) if ends[i][0] == comment.line and ends[i] <= at]
        if ending and placed[ending[-1]].trailing is None:
            placed[ending[-1]].trailing = comment
            continue
        if ending:  # a second comment on one line cannot come from a parse; keep it anyway
            placed[ending[-1]].inside.append(comment)
            continue
        following = next((i for i in range(len(statements)) if starts[i] > at), len(statements))
        placed[following].leading.append(comment)
    return placed


def _comment_text(comment: ast.Comment) -> str:
    return comment.text.rstrip()


def _comment_lines(comments: list[ast.Comment], lines: list[str]) -> None:
    """Own-line comments, keeping one blank line where the source had at least one."""
    for previous, comment in zip([None, *comments], comments, strict=False):
        if previous is not None and comment.line - previous.line > 1:
            lines.append("")
        lines.append(_comment_text(comment))


# ---- statements ----------------------------------------------------------------------------


def _statement(node: ast.Statement) -> str:
    return _written(_STATEMENTS, node, "not a statement:")


def _concept_set(node: ast.ConceptSet) -> str:
    head = f"concepts {node.name.text} = {{"
    items = [_inline(item) for item in node.items]
    if len(items) <= 1:
        return head + "".join(items) + "}"
    return "\n".join([head, *(f"{INDENT}{item}," for item in items), "}"])


def _observation(node: ast.Observation) -> str:
    spans = " and ".join(f"{s.days.value} {_days(s.days.value)} {s.direction}" for s in node.spans)
    return f"require observation {spans} index"


_STATEMENTS = {
    ast.Meta: lambda node: f"{node.key} {_quote(node.value)}",
    ast.ConceptSet: _concept_set,
    ast.Entry: lambda node: f"entry {node.mode} " + " or ".join(_inline(event) for event in node.events),
    ast.Observation: _observation,
    ast.Qualify: lambda node: f"qualify {node.mode}: {_criterion(node.criterion, '')}",
    ast.Rule: lambda node: f"{node.kind} {_quote(node.name)}: {_criterion(node.criterion, '')}",
    ast.Breakdown: lambda node: "breakdown by " + ", ".join(name.text for name in node.dimensions),
}


# ---- criteria: the only nodes that can span several lines -------------------------------------


def _criterion(node: ast.Criterion, indent: str | None) -> str:
    """A criterion whose first line continues a line already indented by `indent`; with `indent`
    None, on one line, groups too (a nested criterion stays inside its event's line)."""
    if isinstance(node, ast.Group):
        head = {"any": "any of", "all": "all of"}.get(node.kind) or f"at least {node.count.value} of"
        if indent is None:
            return f"{head} (" + ", ".join(_criterion(child, None) for child in node.children) + ")"
        children = [f"{indent}{INDENT}{_criterion(child, indent + INDENT)}," for child in node.children]
        return "\n".join([f"{head} (", *children, f"{indent})"])
    if isinstance(node, ast.Not):
        return "not " + _criterion(node.child, indent)
    return _inline(node)


# ---- one-line nodes ---------------------------------------------------------------------------


def _inline(node) -> str:
    return _written(_INLINE, node, "cannot format")


def _written(writers: dict, node, refusal: str) -> str:
    """The text of `node` by the writer of its type."""
    write = writers.get(type(node))
    if write is None:
        raise TypeError(f"{refusal} {node!r}")
    return write(node)


def _event(node: ast.Event) -> str:
    words = ["first ever"] if node.first else []
    words.append(node.domain.replace("_", " "))
    if node.concept_set is not None:
        words.append(node.concept_set.text)
    words.extend(_inline(attribute) for attribute in node.attributes)
    return " ".join(words)


def _units(node: ast.UnitFilter) -> str:
    return "with unit " + ", ".join(_quote(u.value) if isinstance(u.value, str) else str(u.value) for u in node.units)


def _duration(node: ast.DurationFilter) -> str:
    comparison = node.comparison
    one = isinstance(comparison, ast.Compare) and abs(comparison.value.value) == 1
    return f"with duration {_inline(comparison)} {'day' if one else 'days'}"


def _concept_column(node: ast.ConceptColumnFilter) -> str:
    concepts = ", ".join(_concept(str(c.concept_id.value), c.label, False) for c in node.concepts)
    return f"with {node.attribute.replace('_', ' ')} {concepts}"


def _event_criterion(node: ast.EventCriterion) -> str:
    words = [] if node.occurrence is None else [_inline(node.occurrence)]
    return " ".join([*words, _inline(node.event), _inline(node.window)])


def _occurrence(node: ast.Occurrence) -> str:
    if node.kind == "none":
        return "no"
    head = {"at_least": "at least", "at_most": "at most", "exactly": "exactly"}[node.kind]
    return f"{head} {node.count.value}" + (" distinct days of" if node.distinct_days else "")


def _date_comparison(comparison: ast.DateCompare | ast.DateBetween) -> str:
    if isinstance(comparison, ast.DateCompare):
        return f"{comparison.op} {comparison.date}"
    return f"between {comparison.low} and {comparison.high}"


def _window(node: ast.Window) -> str:
    words = [_inline(node.span_)] if node.date is None else [node.date, _inline(node.span_)]
    if node.also is not None:
        words += ["and", node.also.date, _inline(node.also.span_)]
    return " ".join(words) + (" ignoring observation period" if node.ignore_observation else "")


def _offset(node: ast.Offset) -> str:
    if node.days is None:
        return node.anchor if node.direction is None else f"all days {node.direction} {node.anchor}"
    return f"{node.days.value} {_days(node.days.value)} {node.direction} {node.anchor}"


# One writer per node type: an expression of the node's fields,
_INLINE = {
    ast.ConceptInclude: lambda node: _concept(str(node.concept_id.value), node.label, node.descendants),
    ast.ConceptExclude: lambda node: _concept(f"exclude {node.concept_id.value}", node.label, node.descendants),
    ast.SourceCodes: lambda node: f"source {node.vocabulary.text} {_quote(node.pattern)}",
    ast.ValueFilter: lambda node: f"with value {_inline(node.comparison)}",
    ast.ValueConceptFilter: lambda node: f"with value concept {node.concept_set.text}",
    ast.SourceConceptFilter: lambda node: f"with source concept {node.concept_set.text}",
    ast.VisitTypeFilter: lambda node: f"with visit type {node.value}",
    ast.DaysSupplyFilter: lambda node: f"with days supply {_inline(node.comparison)}",
    ast.StartDateFilter: lambda node: f"with start date {_date_comparison(node.comparison)}",
    ast.AgeFilter: lambda node: f"with age {_inline(node.comparison)}",
    ast.SexFilter: lambda node: f"with sex {node.value.text}",
    ast.RangeFilter: lambda node: f"with {node.attribute.replace('_', ' ')} {_inline(node.comparison)}",
    ast.NestedCriterion: lambda node: f"with ({_criterion(node.criterion, None)})",
    ast.Compare: lambda node: f"{node.op} {_number(node.value.value)}",
    ast.Between: lambda node: f"between {_number(node.low.value)} and {_number(node.high.value)}",
    ast.Age: lambda node: f"age {_inline(node.comparison)}",
    ast.Sex: lambda node: f"sex {node.value.text}",
    ast.Within: lambda node: f"within {node.days.value} {_days(node.days.value)} {node.direction} {node.anchor}",
    ast.Around: lambda node: f"within {node.days.value} {_days(node.days.value)} of {node.anchor}",
    ast.FromTo: lambda node: f"from {_inline(node.start)} to {_inline(node.end)}",
    ast.AnyTime: lambda node: "any time" if node.direction is None else f"any time {node.direction} {node.anchor}",
    ast.OnIndex: lambda node: f"on {node.anchor}",
    # or a function above.
    ast.Event: _event,
    ast.UnitFilter: _units,
    ast.DurationFilter: _duration,
    ast.ConceptColumnFilter: _concept_column,
    ast.EventCriterion: _event_criterion,
    ast.Occurrence: _occurrence,
    ast.IndexDate: lambda node: f"index date {_date_comparison(node.comparison)}",
    ast.Window: _window,
    ast.Offset: _offset,
}


# ---- words -------------------------------------------------------------------------------------


def _concept(head: str, label: str | None, descendants: bool) -> str:
    words = [head]
    if label is not None:
        words.append(_quote(label))
    if descendants:
        words.append("with descendants")
    return " ".join(words)


def _days(count: int) -> str:
    return "day" if abs(count) == 1 else "days"


def _number(value: Decimal) -> str:
    # Fixed-point, because str() turns a parsed `0.0000001` into `1E-7`, which does not parse.
    return format(value, "f")


def _quote(text: str) -> str:
    if "\n" in text:
        # The grammar has no escape for a line break, so no text could parse to this tree.
        raise ValueError(f"a CohortQL string cannot contain a line break: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
