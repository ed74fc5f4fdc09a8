"""Render stage: plan -> canonical SQL (DuckDB dialect) with bind parameters."""

from cohortql.render.renderer import RenderedCohort, SqlStatement, TempTable, render, render_split

__all__ = ["RenderedCohort", "SqlStatement", "TempTable", "render", "render_split"]
