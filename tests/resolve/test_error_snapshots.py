"""Snapshot tests of the rendered error messages, one case per file in `tests/error_cases/`.

Each `NN_short_name.cohort` is a small malformed definition, a mistake a trial designer would
make. Beside it, `NN_short_name.expected` holds exactly what `cohortql check` prints to stderr
for it when given the path relative to the repository root: `str(CohortQLError)` and a final
newline. The text is what a person reads, so a change to a message, position or hint shows up
as a diff to review, like PRQL's snapshot tests.

To regenerate the snapshots after an intended change, run

    COHORTQL_UPDATE_SNAPSHOTS=1 pytest tests/resolve/test_error_snapshots.py

which writes the `.expected` files instead of comparing; then read the diff as a user would
(is the caret under the offending text, is the hint right?) before keeping it.

Every error code the compiler can emit must appear in at least one snapshot, so a new code
without a case fails here.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cohortql.cli import app
from cohortql.diagnostics import CohortQLError
from cohortql.pipeline import compile_source, read_source
from tests.conftest import REPO as ROOT

CASE_DIR = ROOT / "tests" / "error_cases"
CASES = sorted(CASE_DIR.glob("*.cohort"))
# Constructs one dialect cannot express (E2xx), in a folder named for it; `cohortql sql --dialect`
# shows them (tests/transpile/test_dialect_limits.py).
DIALECT_CASES = sorted(CASE_DIR.glob("*/*.cohort"))
UPDATE = os.environ.get("COHORTQL_UPDATE_SNAPSHOTS") == "1"

# Rich expands tabs when printing but the caret line is built from character columns, so the
# terminal shows the caret in the wrong place; see the review of the diagnostics renderer.

# Each diagnostic opens with `error[E101]: message` and then ` --> file:line:col`.
HEADER = re.compile(r"^error\[(E\d{3})\]: (.*)$", re.M)
LOCATION = re.compile(r"^ *--> (.+):(\d+):(\d+)$", re.M)


def _relative(case: Path) -> str:
    return case.relative_to(ROOT).as_posix()


def _expected_path(case: Path) -> Path:
    return case.with_suffix(".expected")


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    """Paths are given relative to the repository root, as a user in a checkout types them."""
    monkeypatch.chdir(ROOT)


def _compile_error(case: Path) -> CohortQLError:
    with pytest.raises(CohortQLError) as raised:  # reading already fails for a file that is not UTF-8 (E006)
        compile_source(read_source(_relative(case)))
    return raised.value


def _snapshot(case: Path) -> str:
    """The stored text without the final newline the file ends with."""
    return _expected_path(case).read_text(encoding="utf-8").removesuffix("\n")


def test_enough_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_error_message_matches_snapshot(case: Path):
    rendered = str(_compile_error(case))
    if UPDATE:
        _expected_path(case).write_text(rendered + "\n", encoding="utf-8")
        return
    assert _expected_path(case).exists(), f"no snapshot; run with COHORTQL_UPDATE_SNAPSHOTS=1 to write {case.stem}"
    assert rendered == _snapshot(case)


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_check_prints_snapshot(case: Path):
    result = CliRunner().invoke(app, ["check", _relative(case)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert _snapshot(case) in result.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_check_json_matches_text(case: Path):
    result = CliRunner().invoke(app, ["check", "--format", "json", _relative(case)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    entries = json.loads(result.stdout)["errors"]
    text = _snapshot(case)
    headers = HEADER.findall(text)
    locations = LOCATION.findall(text)
    assert len(entries) == len(headers) == len(locations) >= 1
    file_lines = case.read_bytes().decode("utf-8", "replace").splitlines()  # E006's case is not UTF-8
    for entry, (code, message), (file, line, column) in zip(entries, headers, locations, strict=True):
        assert {"code", "message", "file", "line", "column", "source_line", "hint"} <= entry.keys()
        assert (entry["code"], entry["message"]) == (code, message)
        assert (entry["file"], entry["line"], entry["column"]) == (file, int(line), int(column))
        assert entry["file"] == _relative(case)
        # The raw line from the file: the text rendering may show tabs differently.
        assert entry["source_line"] == file_lines[entry["line"] - 1]


def test_every_snapshot_has_a_case():
    orphans = {p.stem for p in CASE_DIR.glob("*.expected")} - {c.stem for c in CASES}
    assert not orphans, f"snapshots without a .cohort case: {sorted(orphans)}"


def test_every_error_code_has_a_case():
    """A code the compiler can emit but no snapshot shows is an untested message."""
    emitted = {
        code
        for path in (ROOT / "cohortql").rglob("*.py")
        if "atlas" not in path.parts  # import/export codes (E3xx): tests/atlas/test_atlas_import.py
        for code in re.findall(r"""["'](E\d{3})["']""", path.read_text(encoding="utf-8"))
        if not code.startswith("E4")  # checks against a database's vocabulary: tests/cli/test_check_db.py
    }
    shown = {
        code
        for case in CASES + DIALECT_CASES
        if _expected_path(case).exists()
        for code, _ in HEADER.findall(_snapshot(case))
    }
    assert emitted, "no error codes found in the source; has the code format changed?"
    assert not emitted - shown, f"error codes without a snapshot case: {sorted(emitted - shown)}"
