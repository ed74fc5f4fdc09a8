"""The guard at the CLI's edge (cohortql/cli/edge.py), run as a user runs it: a subprocess.
Every case ends with one line on standard error, a documented exit code and no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import duckdb
import pytest

from cohortql.cli import edge
from tests.conftest import REPO

Q1 = str(REPO / "examples" / "q1_gi_bleed_nsaid.cohort")
MAIN = [sys.executable, "-c", "from cohortql.cli import main; main()"]


@pytest.fixture
def env(tmp_path, eunomia_target):
    return {**os.environ, "PYTHONPATH": str(REPO), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "COHORTQL_STORE": str(tmp_path / "store.sqlite"), "COLUMNS": "200"}


def _cli(args, env, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*MAIN, *args], env=env, capture_output="stdout" not in kwargs, text=True, **kwargs)


def _one_clear_line(stderr: str, expected: str) -> None:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert expected in stderr, stderr


def test_closed_stdout(env):
    # `cohortql sql q.cohort >&-`: an AttributeError traceback before (sys.stdout is None)
    done = subprocess.run([*MAIN, "sql", Q1], env=env, stderr=subprocess.PIPE, text=True,
                          preexec_fn=lambda: os.close(1))
    assert done.returncode == 1
    _one_clear_line(done.stderr, "error: cannot write the output: standard output is closed")


def test_commands_that_print_nothing_on_stdout_work_without_it(env):
    done = subprocess.run([*MAIN, "check", Q1], env=env, stderr=subprocess.PIPE, text=True,
                          preexec_fn=lambda: os.close(1))
    assert done.returncode == 0 and "ok: 1 definition checked" in done.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full on this system")
@pytest.mark.parametrize("command", [["sql", Q1], ["explain", Q1], ["count", Q1, "--format", "json", "--no-cache"]])
def test_full_disk(command, env):
    # `> /dev/full`: an OSError traceback at exit before
    with open("/dev/full", "w") as full:
        done = subprocess.run([*MAIN, *command], env=env, stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 1
    _one_clear_line(done.stderr, "error: cannot write the output: No space left on device")


def test_broken_pipe_is_quiet(env):
    reader = subprocess.Popen([*MAIN, "sql", Q1, "--dialect", "postgres"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    reader.stdout.close()  # the reader went away before the first byte (as `| head -0`)
    stderr = reader.stderr.read()
    assert reader.wait() == 1
    assert "Traceback" not in stderr and "Exception ignored" not in stderr and "error" not in stderr


def test_ctrl_c_is_exit_130_with_a_line(env):
    watcher = subprocess.Popen([*MAIN, "watch", Q1, "--interval", "0.05", "--no-cache"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert "watching" in watcher.stderr.readline()  # the loop runs
    watcher.send_signal(signal.SIGINT)
    stderr = watcher.stderr.read()
    assert watcher.wait() == 130  # before: 130 with nothing printed
    _one_clear_line(stderr, "interrupted")


@pytest.mark.parametrize(
    "args",
    [["review", "show", "99999999999999999999"], ["count", Q1, "--timeout", "99999999999999999999"]],
    ids=["review show", "count --timeout"],
)
def test_huge_ids_are_usage_errors(args, env):
    done = _cli(args, env)
    assert done.returncode == 2
    _one_clear_line(done.stderr, "Invalid value")


def test_an_output_file_that_cannot_be_written_names_it(env, tmp_path):
    target = tmp_path / "missing-dir" / "out.json"
    done = _cli(["export", Q1, "-o", str(target)], env)
    assert done.returncode == 1
    _one_clear_line(done.stderr, f"error: {target}: No such file or directory")


def _fake_app(error: BaseException):
    def app(standalone_mode: bool):
        raise error

    return app


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (OverflowError("Python int too large to convert to SQLite INTEGER"), 2, "error: a number is too large"),
        (duckdb.InterruptException("INTERRUPT Error: Interrupted!"), 130, "interrupted"),  # fixtures generate
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
    ids=["overflow", "duckdb interrupt", "keyboard interrupt"],
)
def test_the_edge_maps_what_escapes_a_command(error, code, line, capsys):
    with pytest.raises(SystemExit) as exited:
        edge.run(_fake_app(error))
    assert exited.value.code == code
    assert line in capsys.readouterr().err


def test_an_unexpected_error_is_not_hidden():
    with pytest.raises(ZeroDivisionError):
        edge.run(_fake_app(ZeroDivisionError()))


def test_an_interrupted_rewrite_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    from pathlib import Path

    from cohortql.cli.common import write_whole

    path = tmp_path / "trial.cohort"
    path.write_text("old text\n", encoding="utf-8")

    def interrupted(self, target):
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_whole(path, "new text\n")
    assert path.read_text(encoding="utf-8") == "old text\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trial.cohort"]  # no .partial left
