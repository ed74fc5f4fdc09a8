"""Render stage: plan -> canonical SQL (DuckDB dialect) with bind parameters."""

from cohortql.lazy import lazy_exports

_EXPORTS = {
    name: ".renderer"
    for name in ("RenderedCohort", "SqlStatement", "TempTable", "render", "render_known_concepts", "render_split")
}
__all__ = list(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
