"""A small Python API for notebooks: the same protected results as the CLI."""

from __future__ import annotations

from pathlib import Path

from cohortql import pipeline
from cohortql.diagnostics import Source
from cohortql.execute.target import resolve_target
from cohortql.protect import ProtectedResult


def _source(definition: str | Path) -> Source:
    if isinstance(definition, Path) or (
        isinstance(definition, str) and "\n" not in definition and definition.endswith(".cohort")
    ):
        return pipeline.read_source(definition)
    return Source("<string>", definition)


def count(definition: str | Path, db: str | None = None, cdm_schema: str | None = None,
          vocab_schema: str | None = None, timeout_seconds: int | None = None) -> ProtectedResult:
    """Count a cohort from a `.cohort` path or definition text; small counts are suppressed.

    `result.attrition_frame()` gives the attrition as a pandas DataFrame.
    """
    compiled = pipeline.compile_source(_source(definition))
    return pipeline.run(compiled, resolve_target(db, cdm_schema, vocab_schema, timeout_seconds))
