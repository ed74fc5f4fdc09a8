"""sqlglot turns the canonical SQL into each dialect; anything it cannot express is an error."""

from __future__ import annotations

import datetime
import sys
from collections.abc import Mapping
from contextlib import contextmanager

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from cohortql.transpile.dialects import CANONICAL, COMPILE_ONLY, LIVE, TranspileError

__all__ = ["CANONICAL", "COMPILE_ONLY", "LIVE", "TranspileError", "literal", "transpile"]


def transpile(sql: str, dialect: str, inline: Mapping[str, object] | None = None) -> str:
    """`sql` in `dialect`; with `inline`, each `$name` placeholder becomes that value as a literal
    (quoted by sqlglot: a script for a person to run, never what cohortql runs)."""
    if dialect not in LIVE + COMPILE_ONLY:
        raise TranspileError(
            f"unknown dialect {dialect!r}; choose one of: {', '.join(LIVE + COMPILE_ONLY)}"
        )
    try:
        with _deep_recursion():
            return _transpile(sql, dialect, inline)
    except SqlglotError as error:
        raise TranspileError(f"the {dialect} dialect cannot express this query: {error}") from None


@contextmanager
def _deep_recursion(limit: int = 20_000):
    # sqlglot parses recursively, ~25 frames per parenthesis; nested criteria (bounded at parse
    # time) can exceed Python's default limit of 1000 frames.
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def _transpile(sql: str, dialect: str, inline: Mapping[str, object] | None) -> str:
    statements = sqlglot.parse(sql, read=CANONICAL)
    if len(statements) != 1 or statements[0] is None:
        raise TranspileError(f"expected one statement, got {len(statements)}")
    tree = statements[0]
    if inline is not None:
        tree = tree.transform(lambda node: _inlined(node, inline))
    for rewrite in _REWRITES.get(dialect, ()):
        tree = tree.transform(rewrite)
    return tree.sql(dialect=dialect, pretty=True, unsupported_level=ErrorLevel.RAISE)


def literal(value: object) -> exp.Expression:
    """A Python value as an SQL literal (strings quoted and escaped by sqlglot)."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, datetime.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(str(value))


def _inlined(node: exp.Expression, values: Mapping[str, object]) -> exp.Expression:
    if isinstance(node, exp.Placeholder) and node.name in values:
        return literal(values[node.name])
    return node


def _postgres_date_difference(node: exp.Expression) -> exp.Expression:
    # Every DATE_DIFF in our templates is in days between two DATE columns; PostgreSQL's
    # `date - date` is exactly that integer (sqlglot's generic form goes through epoch seconds).
    if isinstance(node, exp.DateDiff) and node.unit and node.unit.name.lower() == "day":
        return exp.paren(exp.Sub(this=node.this, expression=node.expression))
    return node


def _postgres_like_without_escape(node: exp.Expression) -> exp.Expression:
    # DuckDB's LIKE has no escape character; PostgreSQL's escapes with a backslash unless told
    # otherwise, and `ESCAPE ''` tells it: a backslash in a source-code pattern stays a backslash.
    if isinstance(node, exp.Like) and not isinstance(node.parent, exp.Escape):
        return exp.Escape(this=node.copy(), expression=exp.Literal.string(""))
    return node


def _spark_date_difference(node: exp.Expression) -> exp.Expression:
    # Spark's DATEDIFF(DAY, a, b) goes through timestamps in the session time zone and loses a
    # day where a DST jump skips midnight (America/Sao_Paulo 2018-11-04); DATEDIFF(b, a) counts dates.
    if isinstance(node, exp.DateDiff) and node.unit and node.unit.name.lower() == "day":
        return exp.DateDiff(this=node.this, expression=node.expression)
    return node


def _spark_like_without_escape(node: exp.Expression) -> exp.Expression:
    # DuckDB's LIKE has no escape character; Spark's escapes with a backslash (and rejects `\x`),
    # so each backslash of the pattern is doubled to stay a literal backslash.
    if isinstance(node, exp.Like) and not isinstance(node.parent, exp.Escape):
        pattern = exp.func("REPLACE", node.expression, exp.Literal.string("\\"), exp.Literal.string("\\\\"))
        return exp.Like(this=node.this, expression=pattern)
    return node


# What a dialect needs rewritten in the canonical tree before sqlglot prints it (each says why above).
_REWRITES = {
    "postgres": (_postgres_date_difference, _postgres_like_without_escape),
    "spark": (_spark_date_difference, _spark_like_without_escape),
}
