"""What a dialect cannot express of a definition, as positioned errors (E201) before any SQL is printed.

sqlglot refuses what a dialect has no syntax for (`transpiler.py`); this module refuses what
would print fine yet mean something else there. Today that is a source-code pattern holding a
character that a compile-only dialect's LIKE may read as more than itself: DuckDB, PostgreSQL
and Spark read it literally (the LIKE rewrites of `transpiler.py`, run on each engine), but the
compile-only SQL is never run by cohortql, so no rewrite of it could be shown to keep the meaning.
"""

from __future__ import annotations

from cohortql.diagnostics import CohortQLError, Diagnostic, Source
from cohortql.parse import ast
from cohortql.transpile.dialects import COMPILE_ONLY, LIVE

# Pattern characters some engine's LIKE reads as more than themselves, and what it reads.
LIKE_METACHARACTERS = {
    "\\": "an escape character in the LIKE of BigQuery and other engines",
    "[": "the start of a character class in SQL Server's LIKE",
}


def check_expressible(definition: ast.Definition, source: Source, dialect: str) -> None:
    """Raise CohortQLError (E201) for each construct of `definition` that `dialect` cannot express."""
    if dialect not in COMPILE_ONLY:
        return
    diagnostics = []
    for statement in definition.statements:
        for item in statement.items if isinstance(statement, ast.ConceptSet) else ():
            if not isinstance(item, ast.SourceCodes):
                continue
            for character, meaning in LIKE_METACHARACTERS.items():
                if character in item.pattern:
                    diagnostics.append(_unsafe_pattern(item, character, meaning, dialect))
                    break
    if diagnostics:
        raise CohortQLError(source, tuple(diagnostics))


def _unsafe_pattern(item: ast.SourceCodes, character: str, meaning: str, dialect: str) -> Diagnostic:
    return Diagnostic(
        "E201",
        f'the {dialect} dialect cannot express the source-code pattern "{item.pattern}":'
        f" its `{character}` is {meaning}",
        item.span,
        f"cohortql never runs {dialect} SQL, so it cannot show that {dialect}'s LIKE reads `{character}` literally;"
        f" {', '.join(LIVE)} do",
    )
