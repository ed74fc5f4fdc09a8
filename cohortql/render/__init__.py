"""Render stage: plan -> canonical SQL (DuckDB dialect) with bind parameters."""

from cohortql.lazy import lazy_exports

__all__, __getattr__ = lazy_exports(__name__, {
    ".renderer": ("RenderedCohort", "SqlStatement", "TempTable", "render", "render_known_concepts", "render_split"),
})
