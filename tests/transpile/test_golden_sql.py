"""Golden SQL per example and dialect, reviewed as diffs.

Regenerate after an intended change with `COHORTQL_UPDATE_GOLDEN=1 pytest tests/transpile/test_golden_sql.py`
and review `git diff tests/golden/`.
"""

from __future__ import annotations

import os

import pytest

from cohortql import pipeline
from cohortql.transpile import COMPILE_ONLY, LIVE
from tests.conftest import EXAMPLES, REPO

GOLDEN = REPO / "tests" / "golden"
UPDATE = os.environ.get("COHORTQL_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("dialect", LIVE + COMPILE_ONLY)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_golden_sql(example, dialect):
    compiled = pipeline.compile_source(pipeline.read_source(example.relative_to(REPO)))
    sql = pipeline.rendered_sql(compiled, dialect, cdm_schema="cdm")
    golden = GOLDEN / example.stem / f"{dialect}.sql"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(sql, encoding="utf-8")
    assert golden.exists(), f"no golden SQL yet: run with COHORTQL_UPDATE_GOLDEN=1 ({golden})"
    assert sql == golden.read_text(encoding="utf-8")


def test_no_user_text_in_sql():
    """Concept ids, numbers and patterns are bind parameters: none appears in the SQL text."""
    compiled = pipeline.compile_source(pipeline.read_source(REPO / "examples/q7_type2_diabetes_trial.cohort"))
    from cohortql.render import render

    rendered = render(compiled.plan)
    for text in (rendered.codesets.sql, rendered.cohort.sql):
        for literal in ("201826", "E11%", "3004410", "10.5", "7.0", "8554", "ICD10CM"):
            assert literal not in text
    assert 10.5 in rendered.cohort.params.values()


def test_schema_names_are_validated():
    from cohortql.render import render
    from cohortql.render.identifiers import IdentifierError

    compiled = pipeline.compile_source(pipeline.read_source(REPO / "examples/q1_gi_bleed_nsaid.cohort"))
    for bad in ('cdm"; DROP TABLE person; --', "a.b", "1abc", "", "x y"):
        if bad:
            with pytest.raises(IdentifierError):
                render(compiled.plan, cdm_schema=bad)
    assert '"cdm".condition_occurrence' in render(compiled.plan, cdm_schema="cdm").cohort.sql
