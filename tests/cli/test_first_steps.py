"""What a new user reaches for first: --version, init, completion, the pre-commit hooks."""

from __future__ import annotations

import tomllib

import yaml
from typer.testing import CliRunner

from cohortql.cli import app
from tests.conftest import REPO

RUN = CliRunner()


def test_version_is_the_project_version():
    expected = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    result = RUN.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"cohortql {expected}\n"


def test_init_writes_a_starter_that_checks_and_is_formatted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert RUN.invoke(app, ["init"]).exit_code == 0
    starter = tmp_path / "cohort.cohort"
    assert starter.read_text(encoding="utf-8").startswith("# A starter definition")
    assert RUN.invoke(app, ["check", str(starter)]).exit_code == 0
    assert RUN.invoke(app, ["fmt", "--check", str(starter)]).exit_code == 0
    explained = RUN.invoke(app, ["explain", str(starter)])
    assert explained.exit_code == 0 and "metformin" in explained.stdout.lower()


def test_init_never_overwrites_unless_forced(tmp_path):
    mine = tmp_path / "mine.cohort"
    mine.write_text("# my work\n", encoding="utf-8")
    refused = RUN.invoke(app, ["init", str(mine)])
    assert refused.exit_code == 2 and "exists" in refused.output
    assert mine.read_text(encoding="utf-8") == "# my work\n"
    assert RUN.invoke(app, ["init", str(mine), "--force"]).exit_code == 0
    assert mine.read_text(encoding="utf-8").startswith("# A starter definition")


def test_shell_completion_is_offered():
    result = RUN.invoke(app, ["--show-completion", "bash"], prog_name="cohortql")
    assert result.exit_code == 0 and "complete" in result.stdout and "cohortql" in result.stdout


def test_the_pre_commit_hooks_run_real_commands():
    hooks = {hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"cohortql-check", "cohortql-fmt"}
    for hook in hooks.values():
        command = hook["entry"].split()
        assert command[0] == "cohortql" and hook["files"] == r"\.cohort$"
        assert RUN.invoke(app, [*command[1:], "--help"]).exit_code == 0
