"""Transpile stage: canonical SQL (DuckDB dialect) -> the SQL of one target engine."""

from cohortql.lazy import lazy_exports

# sqlglot is loaded only when something is transpiled: DuckDB runs the canonical SQL as rendered.
_EXPORTS = {
    "COMPILE_ONLY": ".dialects",
    "LIVE": ".dialects",
    "TranspileError": ".dialects",
    "check_expressible": ".expressible",
    "literal": ".transpiler",
    "transpile": ".transpiler",
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
