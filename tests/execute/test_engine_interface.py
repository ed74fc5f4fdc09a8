"""One engine interface: each engine is found by its dialect, and no other module asks which engine it is."""

from __future__ import annotations

import ast
import dataclasses

import pytest

from cohortql import pipeline
from cohortql.execute.errors import DatabaseError
from cohortql.execute.runner import engine_for, run_cohort
from cohortql.execute.target import resolve_target
from cohortql.fixtures import tiny
from cohortql.render import SqlStatement, render
from cohortql.transpile import LIVE
from tests.conftest import REPO

# The modules that may know which engine they are: the engines themselves.
ENGINE_MODULES = {"cohortql/execute/duckdb.py", "cohortql/execute/postgres.py", "cohortql/execute/spark.py"}


def test_each_engine_answers_for_its_own_dialect(tiny_duckdb_target):
    targets = [tiny_duckdb_target, resolve_target("postgresql://cq@127.0.0.1/cdm"), resolve_target("spark://local[1]")]
    assert [engine_for(target).settings.dialect for target in targets] == list(LIVE)


def _dialect_comparisons(tree: ast.AST) -> list[int]:
    """Lines comparing something named `dialect` (a name or an attribute) with a string literal."""

    def named_dialect(node: ast.AST) -> bool:
        return (isinstance(node, ast.Name) and node.id == "dialect") or (
            isinstance(node, ast.Attribute) and node.attr == "dialect"
        )

    def literal(node: ast.AST) -> bool:
        strings = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
        return any(isinstance(s, ast.Constant) and isinstance(s.value, str) for s in strings)

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(named_dialect(side) for side in sides) and any(literal(side) for side in sides):
                lines.append(node.lineno)
    return lines


def test_no_dialect_branch_outside_the_engine_modules():
    found = {}
    for path in sorted((REPO / "cohortql").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        lines = _dialect_comparisons(ast.parse(path.read_text(encoding="utf-8")))
        if lines and relative not in ENGINE_MODULES:
            found[relative] = lines
    assert not found, f"`dialect == ...` outside the engine modules (make it a setting of the engine): {found}"


def test_the_walk_sees_a_dialect_branch():
    """The check above could pass vacuously: it does see one."""
    assert _dialect_comparisons(ast.parse("if target.dialect == 'postgres':\n    pass\n")) == [1]
    assert _dialect_comparisons(ast.parse("x = dialect in ('duckdb', 'spark')\n")) == [1]


def test_duckdb_stops_a_statement_at_the_time_limit(tiny_duckdb_target):
    """DuckDB has no statement timeout of its own: the engine interrupts it (execute/duckdb.py)."""
    endless = SqlStatement(  # 10^12 rows: hours of work
        "SELECT 0 AS mask, count(*) AS persons, 0 AS entries FROM range(1000000000000)", reads_concept_sets=False
    )
    plan = pipeline.compile_source(pipeline.read_source(tiny.case_paths()[0])).plan
    slow = dataclasses.replace(render(plan), cohort=endless)
    limited = dataclasses.replace(tiny_duckdb_target, timeout_seconds=1)
    with pytest.raises(DatabaseError) as stopped:
        run_cohort(slow, limited)
    assert stopped.value.cause == "the query ran out of time (limit 1 s)"
