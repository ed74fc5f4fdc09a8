"""The one module that chains the stages: parse -> resolve -> render -> transpile -> execute -> protect."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cohortql.diagnostics import Source
from cohortql.parse import parse
from cohortql.parse.ast import Definition
from cohortql.resolve import resolve
from cohortql.resolve.plan import Plan


@dataclass(frozen=True)
class Compiled:
    source: Source
    definition: Definition
    plan: Plan


def read_source(path: str | Path) -> Source:
    path = Path(path)
    return Source(str(path), path.read_text(encoding="utf-8"))


def compile_source(source: Source) -> Compiled:
    """Parse and resolve; raises `CohortQLError` with every diagnostic."""
    definition = parse(source.text, source.name)
    return Compiled(source, definition, resolve(definition, source))


def parse_source(source: Source) -> Definition:
    return parse(source.text, source.name)
