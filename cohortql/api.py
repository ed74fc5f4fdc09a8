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


def _counter(db, cdm_schema, vocab_schema, timeout_seconds, cache: bool | str | Path):
    """The what-if cache: True the default directory, False none, a path that directory."""
    from cohortql.whatif.app import target_counter

    target = resolve_target(db, cdm_schema, vocab_schema, timeout_seconds)
    return target_counter(target, None if isinstance(cache, bool) else cache, cache is not False)


def count(definition: str | Path, db: str | None = None, cdm_schema: str | None = None,
          vocab_schema: str | None = None, timeout_seconds: int | None = None,
          cache: bool | str | Path = True, by: tuple[str, ...] | list[str] | None = None) -> ProtectedResult:
    """Count a cohort from a `.cohort` path or definition text; small counts are suppressed.

    `result.attrition_frame()` gives the attrition and `result.breakdown_frame("site", "age10")`
    a breakdown as pandas DataFrames. `by` breaks the final cohort down (at most two dimensions;
    default: the definition's `breakdown by`). Re-counts of an edited definition reuse what the
    what-if cache holds (`cache=False`: one pass on the database).
    """
    from cohortql.resolve.breakdowns import breakdown_problems

    for problem in breakdown_problems(list(by or ())):
        raise ValueError(f"{problem.message} ({problem.hint})" if problem.hint else problem.message)
    compiled = pipeline.compile_source(_source(definition))
    counter = _counter(db, cdm_schema, vocab_schema, timeout_seconds, cache)
    return pipeline.run(compiled, counter.target, by=tuple(by) if by else None,
                        cache=counter if cache is not False else None)


def compare(*definitions: str | Path, db: str | None = None, cdm_schema: str | None = None,
            vocab_schema: str | None = None, cache: bool | str | Path = True):
    """Several definitions released together; `.frame()` is one row per (variant, step)."""
    from cohortql.whatif import app

    return app.compare([_source(d) for d in definitions], _counter(db, cdm_schema, vocab_schema, None, cache))


def what_if(definition: str | Path, drop: list[str] = (), set: list[str] = (), each: bool = False,
            db: str | None = None, cdm_schema: str | None = None, vocab_schema: str | None = None,
            cache: bool | str | Path = True):
    """The definition as written and with rules dropped / criteria set (`"rule: criterion"`)."""
    from cohortql.whatif import app

    counter = _counter(db, cdm_schema, vocab_schema, None, cache)
    return app.whatif(_source(definition), list(drop), list(set), counter, each=each)


def sweep(definition: str | Path, rule: str, vary: str, number: int | None = None, db: str | None = None,
          cdm_schema: str | None = None, vocab_schema: str | None = None, cache: bool | str | Path = True):
    """The final count as one number of `rule` takes each value of `vary` (`"65..85/5"`); `.frame()`."""
    from cohortql.whatif import app

    counter = _counter(db, cdm_schema, vocab_schema, None, cache)
    return app.sweep(_source(definition), rule, vary, counter, position=number)


def impact(definition: str | Path, db: str | None = None, cdm_schema: str | None = None,
           vocab_schema: str | None = None, cache: bool | str | Path = True):
    """Each rule's Shapley value, persons it alone excludes, gain if dropped; `.frame()`."""
    from cohortql.whatif import app

    return app.impact(_source(definition), _counter(db, cdm_schema, vocab_schema, None, cache))
