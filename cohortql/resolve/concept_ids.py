"""Every concept id a definition names, with where: what `check --db` and the counting commands
look up in the vocabulary (a concept id the vocabulary lacks matches no record)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cohortql.diagnostics import Span
from cohortql.parse import ast


@dataclass(frozen=True)
class ConceptReference:
    concept_id: int
    span: Span
    what: str  # concept | unit concept | visit concept


def concept_references(definition: ast.Definition) -> list[ConceptReference]:
    """In the order written: concept set items (excluded ones too), unit, visit and concept
    column ids, nested criteria included."""
    found: list[ConceptReference] = []
    stack = [definition.statements]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            stack.extend(reversed(node))
            continue
        if not dataclasses.is_dataclass(node):
            continue
        if isinstance(node, (ast.ConceptInclude, ast.ConceptExclude, ast.AttributeConcept)):
            found.append(ConceptReference(node.concept_id.value, node.concept_id.span, "concept"))
        elif isinstance(node, ast.Unit) and isinstance(node.value, int):
            found.append(ConceptReference(node.value, node.span, "unit concept"))
        elif isinstance(node, ast.VisitTypeFilter) and isinstance(node.value, int):
            end = node.span  # the visit concept id is the filter's last word
            span = Span(end.end_line, end.end_column - len(str(node.value)), end.end_line, end.end_column)
            found.append(ConceptReference(node.value, span, "visit concept"))
        stack.extend(reversed([getattr(node, f.name) for f in dataclasses.fields(node) if f.name != "span"]))
    return found
