"""Long counts as a user meets them, on a real PostgreSQL server and a local Spark: a progress line
on a terminal (and nothing when standard error is a file), and Ctrl-C that ends the run with
`interrupted`, exit 130, the server's query cancelled and no output file touched.

Each case runs the `cohortql` command in a process of its own, standard error on a pseudo-terminal
(`pty`) where the case is about the terminal. The slow PostgreSQL CDM (`postgres_slow`,
tests/conftest.py) reads one observation period a minute, so its cohort query runs until cancelled
or until the `--timeout` given.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest
import sqlalchemy as sa

from cohortql.fixtures import tiny
from tests.conftest import REPO

CASE = str(tiny.case_paths()[0])
# As a shell starts it: SIGINT raises KeyboardInterrupt (a test runner may have it ignored).
COHORTQL = [
    sys.executable, "-c",
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); import cohortql.cli; cohortql.cli.main()",
]  # fmt: skip
PROGRESS = re.compile(rb"counting on [^\r\n]*? \d+\.\d s")


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COHORTQL_")}
    env.update(PYTHONPATH=str(REPO), XDG_CONFIG_HOME=str(tmp_path / "no-config"), TERM="xterm-256color",
               COHORTQL_CACHE_DIR=str(tmp_path / "cache"))  # fmt: skip
    env.pop("COLUMNS", None)
    return env


def _on_a_terminal(command, env, cwd, interrupt_when=None) -> tuple[int, bytes, str]:
    """Run `command` with standard error on a pseudo-terminal of 160 columns: (exit code, what the
    terminal received, standard output). SIGINT once `interrupt_when(received)` is true."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=terminal)  # fmt: skip
    os.close(terminal)
    received = b""
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 4096)
                except OSError as error:  # EIO: every writer closed the terminal
                    assert error.errno == errno.EIO
                    break
                if not chunk:
                    break
                received += chunk
            if interrupt_when and interrupt_when(received):
                process.send_signal(signal.SIGINT)
                interrupt_when = None
        stdout, _ = process.communicate(timeout=60)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    return process.returncode, received, stdout.decode()


def _active_queries(postgres_database) -> list[str]:
    engine = sa.create_engine(postgres_database, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT query FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 'cohortql' AND state = 'active'"
        ).fetchall()
    engine.dispose()
    return [query for (query,) in rows]


def _wait_for_the_cohort_query(postgres_database, process) -> None:
    deadline = time.monotonic() + 60
    while not any("observation_period" in q for q in _active_queries(postgres_database)):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the cohort query never started"
        time.sleep(0.2)


def _wait_until_no_query_runs(postgres_database) -> None:
    deadline = time.monotonic() + 10
    while _active_queries(postgres_database):
        assert time.monotonic() < deadline, "the query still runs on the server after Ctrl-C"
        time.sleep(0.2)


def test_progress_on_a_terminal_postgres(postgres_database, postgres_slow, env, tmp_path):
    """The elapsed time refreshed in place while the query runs (3 s, then the time limit), erased before the error."""
    command = [*COHORTQL, "count", CASE, "--db", postgres_database, "--cdm-schema", postgres_slow, "--timeout", "3"]
    code, received, stdout = _on_a_terminal(command, env, tmp_path)
    assert code == 1, received
    assert stdout == ""
    shown = PROGRESS.findall(received)
    assert len(set(shown)) >= 2, received  # refreshed: more than one elapsed time was drawn
    assert shown[-1].startswith(b"counting on postgresql://"), received
    after = received[received.rindex(shown[-1]) + len(shown[-1]) :]
    before_error, _, error = after.partition(b"error: the query ran out of time (limit 3 s)")
    assert error, received
    assert b"\x1b[2K" in before_error  # the line is erased before the error is printed
    assert b"Traceback" not in received


def test_no_progress_when_standard_error_is_a_file(postgres_database, postgres_slow, env, tmp_path):
    env["FORCE_COLOR"] = "1"  # as CI runners often set it: colour, but still no progress line in the log
    command = [*COHORTQL, "count", CASE, "--db", postgres_database, "--cdm-schema", postgres_slow, "--timeout", "2"]
    with open(tmp_path / "stderr.txt", "w+b") as stderr:
        done = subprocess.run(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, timeout=120)
        stderr.seek(0)
        written = stderr.read().decode()
    assert done.returncode == 1
    assert written.splitlines() == [
        "error: the query ran out of time (limit 2 s)",
        "  hint: raise --timeout, or narrow the definition",
    ]


def _interrupt(command, env, cwd, postgres_database) -> tuple[int, str]:
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_the_cohort_query(postgres_database, process)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, stderr


def test_ctrl_c_during_count_cancels_the_server_side_query(postgres_database, postgres_slow, env, tmp_path):
    command = [*COHORTQL, "count", CASE, "--db", postgres_database, "--cdm-schema", postgres_slow]
    code, stderr = _interrupt(command, env, tmp_path, postgres_database)
    assert (code, stderr) == (130, "interrupted\n")
    _wait_until_no_query_runs(postgres_database)


@pytest.mark.parametrize("earlier", [None, "<html>the report of yesterday</html>"], ids=["new", "existing"])
def test_ctrl_c_during_report_leaves_no_file(postgres_database, postgres_slow, env, tmp_path, earlier):
    out = tmp_path / "reports"
    out.mkdir()
    if earlier:
        (out / "feasibility.html").write_text(earlier)
    command = [*COHORTQL, "report", CASE, "-o", str(out / "feasibility.html"), "--db", postgres_database,
               "--cdm-schema", postgres_slow]  # fmt: skip
    code, stderr = _interrupt(command, env, tmp_path, postgres_database)
    assert (code, stderr) == (130, "interrupted\n")
    _wait_until_no_query_runs(postgres_database)
    if earlier:
        assert [p.name for p in out.iterdir()] == ["feasibility.html"]
        assert (out / "feasibility.html").read_text() == earlier
    else:
        assert list(out.iterdir()) == []


# Spark: one JVM per case (about 20 s each). Five hundred shuffle partitions on one core make each
# stage of the tiny CDM's query hundreds of tasks long: seconds of visible progress per stage.
SPARK_SLOW = "spark.ui.enabled=false&spark.sql.adaptive.enabled=false&spark.sql.shuffle.partitions=500"
RUNNING_STAGE = re.compile(
    rb"counting on Spark \(local\[1\]\), Parquet CDM at \S+ \.\.\. \d+\.\d s  stages? [\d, ]+: \d+/\d+ tasks"
)


@pytest.fixture(scope="module")
def tiny_parquet(tmp_path_factory):
    from cohortql.execute.loader import export_parquet

    out = tmp_path_factory.mktemp("tiny-parquet") / "cdm"
    export_parquet("tiny", out)
    return out


@pytest.mark.slow
def test_spark_progress_then_ctrl_c(tiny_parquet, env, tmp_path):
    """The running stage's tasks on the terminal; Ctrl-C then cancels the job: `interrupted`, exit 130, no Java."""
    command = [*COHORTQL, "count", CASE, "--db", f"spark://local[1]{tiny_parquet}?format=parquet&{SPARK_SLOW}"]
    code, received, stdout = _on_a_terminal(command, env, tmp_path, interrupt_when=RUNNING_STAGE.search)
    assert code == 130, received
    assert RUNNING_STAGE.search(received), received
    assert received.rstrip().endswith(b"\x1b[2Kinterrupted"), received[-2000:]
    for noise in (b"Traceback", b"py4j", b"Py4J", b"Exception", b"ERROR", b"WARN"):
        assert noise not in received, received[-2000:]
    assert stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize("missing", ["database", "table"])
def test_spark_missing_database_or_table_is_one_line(tiny_parquet, env, tmp_path, missing):
    """Standard error holds the message and its hint, nothing from Java, log4j or pyspark."""
    if missing == "database":
        where = ["--db", "spark://local[1]?spark.ui.enabled=false", "--cdm-schema", "cq_nosuch"]
        expected = ["error: database not found: cq_nosuch", "  hint: check --cdm-schema / --vocab-schema"]
    else:
        partial = tmp_path / "partial"
        partial.mkdir()
        for table in tiny_parquet.iterdir():
            if table.name != "concept_ancestor.parquet":
                (partial / table.name).symlink_to(table)
        where = ["--db", f"spark://local[1]{partial}?format=parquet&spark.ui.enabled=false"]
        expected = [
            f"error: a CDM table is missing in the Parquet directory {partial}: concept_ancestor",
            "  hint: expected concept_ancestor.parquet or concept_ancestor/; `cohortql load SOURCE --parquet DIR`"
            " writes every table",
        ]
    with open(tmp_path / "stderr.txt", "w+b") as stderr:
        done = subprocess.run([*COHORTQL, "count", CASE, *where], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=stderr, timeout=180)  # fmt: skip
        stderr.seek(0)
        written = stderr.read().decode()
    assert done.returncode == 1, written
    assert written.splitlines() == expected
