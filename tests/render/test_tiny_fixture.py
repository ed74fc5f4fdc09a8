"""The engine against the tiny hand-made CDM, one edge case per definition.

Expected numbers were worked out by hand, person by person (cohortql/fixtures/tiny/EXPECTED.md).
"""

from __future__ import annotations

import pytest

from cohortql import pipeline
from cohortql.execute.runner import run_cohort
from cohortql.execute.target import resolve_target
from cohortql.fixtures import tiny
from cohortql.protect.protector import attrition_counts, gain_counts
from cohortql.render import render

EXPECTED = tiny.expected()
CASES = tiny.case_paths()


@pytest.fixture(scope="module")
def tiny_target(tmp_path_factory):
    path = tiny.build_duckdb(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")
    return resolve_target(f"duckdb:///{path}")


def test_every_case_has_an_answer():
    assert sorted(p.stem for p in CASES) == sorted(EXPECTED)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_case(case, tiny_target):
    expected = EXPECTED[case.stem]
    compiled = pipeline.compile_source(pipeline.read_source(case))
    raw = run_cohort(render(compiled.plan), tiny_target)
    steps = attrition_counts(raw)
    assert steps == [step["persons"] for step in expected["attrition"]]
    assert steps[-1] == expected["final"]
    assert sum(row[3] for row in raw.rows) == expected["entries"]
    assert dict(zip(raw.rule_names, gain_counts(raw), strict=True)) == expected["gains"]
