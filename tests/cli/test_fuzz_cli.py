"""Random bytes as a definition file, and random argument lists, never give a traceback: the exit
code is one of the documented ones (docs/cli.md: 0, 1, 2). The offline commands only, so that
a thousand runs take seconds (the database commands share the same edge: cli/common.py)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cohortql.cli import app
from tests.conftest import EXAMPLES

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])
DOCUMENTED = {0, 1, 2}
COMMANDS = (["check"], ["check", "--format", "json"], ["fmt", "--check"], ["explain"], ["sql"], ["export"],
            ["import"], ["import", "--report"])
WORDS = ("check", "fmt", "explain", "sql", "export", "import", "policy", "show", "--format", "json", "text",
         "csv", "--dialect", "postgres", "spark", "tsql", "nope", "--check", "--report", "--cdm-schema",
         "cdm", 'x"; DROP TABLE person; --', "--threshold", "-1", "99999999999999999999", "--", "-o",
         "--help", "", "\u202e", str(EXAMPLES[0]))


def _assert_clean(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code in DOCUMENTED, (result.exit_code, result.output)


@FUZZ
@given(content=st.binary(max_size=400), command=st.sampled_from(COMMANDS))
def test_random_bytes_as_a_definition(tmp_path_factory, content, command):
    path = tmp_path_factory.mktemp("bytes") / ("input.json" if command[0] == "import" else "input.cohort")
    path.write_bytes(content)
    _assert_clean(CliRunner().invoke(app, [*command, str(path)]))


@FUZZ
@given(arguments=st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=6))
def test_random_argument_lists(tmp_path_factory, monkeypatch, arguments):
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))  # nothing written into the checkout
    _assert_clean(CliRunner().invoke(app, [a for a in arguments if "\x00" not in a]))  # argv holds no NUL
