"""Transpile stage: canonical SQL (DuckDB dialect) -> the SQL of one target engine."""

from cohortql.transpile.expressible import check_expressible
from cohortql.transpile.transpiler import COMPILE_ONLY, LIVE, TranspileError, transpile

__all__ = ["COMPILE_ONLY", "LIVE", "TranspileError", "check_expressible", "transpile"]
