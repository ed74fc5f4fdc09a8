"""Ctrl-C on a Spark run cancels its running job (the run's job group) and returns at once.

As in tests/execute/test_cancel.py, a fresh interpreter where SIGINT raises KeyboardInterrupt
sends itself SIGINT; here once Spark reports the endless query's job as running.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # starts a Spark session of its own

SCRIPT = """
import dataclasses, os, signal, threading, time
from pyspark import SparkContext
from cohortql import pipeline
from cohortql.execute.runner import run_cohort
from cohortql.execute.target import resolve_target
from cohortql.render import SqlStatement, render
from cohortql.fixtures import tiny

signal.signal(signal.SIGINT, signal.default_int_handler)
endless = SqlStatement(  # 10^12 pairs: hours of work, and the run's only job
    "SELECT 0 AS mask, COUNT(*) AS persons, 0 AS entries FROM (SELECT UNNEST(range(0, 1000000)) AS a) AS x"
    " CROSS JOIN (SELECT UNNEST(range(0, 1000000)) AS b) AS y",
    reads_concept_sets=False,
)
plan = pipeline.compile_source(pipeline.read_source(tiny.case_paths()[0])).plan
rendered = dataclasses.replace(render(plan), cohort=endless)
sent = []

def interrupt_once_the_job_runs():
    while True:
        context = SparkContext._active_spark_context
        ready = context is not None and getattr(context, "_jsc", None) is not None  # set up, not only made
        if ready and context.statusTracker().getActiveJobsIds():
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)
            return
        time.sleep(0.05)

threading.Thread(target=interrupt_once_the_job_runs, daemon=True).start()
target = resolve_target("spark://local[1]?spark.ui.enabled=false", timeout_seconds=3600)
try:
    run_cohort(rendered, target)
    print("finished")
except KeyboardInterrupt:
    quick = time.monotonic() - sent[0] < 8  # the cancel grace period is 10 s
    still_running = SparkContext._active_spark_context.statusTracker().getActiveJobsIds()
    print("interrupted", "quickly" if quick else "slowly", "jobs left:", list(still_running))
"""


def test_ctrl_c_cancels_the_running_spark_job(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "interrupted quickly jobs left: []"
