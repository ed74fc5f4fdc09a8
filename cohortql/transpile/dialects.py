"""The dialects cohortql knows and the error for what one cannot express (no sqlglot needed here)."""

from __future__ import annotations

CANONICAL = "duckdb"  # the dialect the templates are written in: DuckDB runs it as rendered
LIVE = ("duckdb", "postgres", "spark")  # engines cohortql runs on
COMPILE_ONLY = ("bigquery", "snowflake", "tsql", "trino")  # SQL printed for review, never run here


class TranspileError(Exception):
    """The target dialect cannot express the query; never emit silently wrong SQL."""
