"""Compiled templates kept in the user's cache: the same SQL warm or cold, and no error when the cache
cannot be written (the speed it buys is measured by benchmarks/, not here)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO

RENDER = (
    "from cohortql import pipeline; from cohortql.render import render; "
    "c = pipeline.compile_source(pipeline.read_source('examples/q7_type2_diabetes_trial.cohort')); "
    "r = render(c.plan, None, None, ()); print(r.cohort.sql, r.codesets.sql)"
)


def _render(cache_dir) -> subprocess.CompletedProcess:
    env = {**os.environ, "COHORTQL_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", RENDER], cwd=REPO, env=env, capture_output=True, text=True)


def test_warm_and_cold_render_the_same_sql(tmp_path):
    cold = _render(tmp_path)
    assert cold.returncode == 0, cold.stderr
    assert list((tmp_path / "sql_templates").glob("*.cache")), "the compiled templates were not kept"
    warm = _render(tmp_path)
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout == cold.stdout and "WITH" in cold.stdout.upper()


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    done = _render(blocked)
    assert done.returncode == 0, done.stderr
    assert "WITH" in done.stdout.upper()
