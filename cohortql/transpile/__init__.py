"""Transpile stage: canonical SQL (DuckDB dialect) -> the SQL of one target engine."""

from cohortql.lazy import lazy_exports

# sqlglot is loaded only when something is transpiled: DuckDB runs the canonical SQL as rendered.
__all__, __getattr__ = lazy_exports(__name__, {
    ".dialects": ("COMPILE_ONLY", "LIVE", "TranspileError"),
    ".expressible": ("check_expressible",),
    ".transpiler": ("literal", "transpile"),
})
