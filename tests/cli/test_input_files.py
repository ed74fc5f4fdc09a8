"""Input files a command cannot use say what is wrong with them: not UTF-8 (E006, with the byte
offset, line and column), binary, a directory; a UTF-8 byte order mark is accepted. The same for
ATLAS `.json` inputs, the governance re-read of a definition and `watch`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cohortql.cli import app
from cohortql.diagnostics import CohortQLError
from cohortql.pipeline import UnreadableFile, read_source
from tests.conftest import REPO

runner = CliRunner()
DEFINITION = 'title "Café"\nconcepts A = {201826 "Type 2 diabetes mellitus"}\nentry first condition A\n'
LATIN1 = DEFINITION.encode("latin-1")  # é is the single byte 0xE9, at byte offset 10 (line 1, column 11)
PHENOTYPE = REPO / "tests" / "atlas" / "phenotypes" / "100.json"

# Every command that reads a definition file, and the arguments after the file.
READERS = [
    ("check", []),
    ("fmt", ["--check"]),
    ("explain", []),
    ("sql", []),
    ("export", []),
    ("count", []),
    ("concepts", []),
    ("whatif", ["--drop", "x"]),
    ("sweep", ["--rule", "x", "--vary", "1,2"]),
    ("impact", []),
]


def _run(command: str, path: Path, rest: list[str]):
    args = ["compare", str(path), str(path)] if command == "compare" else [command, str(path), *rest]
    return runner.invoke(app, args)


def _ids(value) -> str:
    return value if isinstance(value, str) else ""


@pytest.mark.parametrize(("command", "rest"), [*READERS, ("compare", [])], ids=_ids)
def test_latin1_is_a_positioned_utf8_error(command, rest, tmp_path):
    path = tmp_path / "latin1.cohort"
    path.write_bytes(LATIN1)
    result = _run(command, path, rest)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, UnicodeDecodeError)
    assert "error[E006]: the file must be UTF-8 text: byte 0xE9 at byte offset 10 is not UTF-8" in result.stderr
    assert f"--> {path}:1:11" in result.stderr


def test_check_json_reports_the_utf8_error_with_the_others(tmp_path):
    bad, wrong = tmp_path / "latin1.cohort", tmp_path / "wrong.cohort"
    bad.write_bytes(LATIN1)
    wrong.write_text("entry first condition Nowhere\n", encoding="utf-8")
    result = runner.invoke(app, ["check", "--format", "json", str(bad), str(wrong)])
    assert result.exit_code == 1
    errors = json.loads(result.stdout)["errors"]
    assert [(e["code"], e["line"], e["column"]) for e in errors] == [("E006", 1, 11), ("E101", 1, 23)]
    assert errors[0]["source_line"] == 'title "Caf\ufffd"'


def test_binary_content_says_so(tmp_path):
    path = tmp_path / "image.cohort"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1 and "error[E006]" in result.stderr
    assert "byte 0x89 at byte offset 0" in result.stderr and "binary file" in result.stderr
    shown = result.stderr.splitlines()[3]
    assert len(shown) < 200 and "\x00" not in shown  # the line is cut around the caret, controls escaped


def test_a_byte_order_mark_is_accepted_and_columns_ignore_it(tmp_path):
    path = tmp_path / "bom.cohort"
    path.write_bytes(b"\xef\xbb\xbf" + DEFINITION.encode("utf-8"))
    assert runner.invoke(app, ["check", str(path)]).exit_code == 0
    assert read_source(path).text == DEFINITION
    path.write_bytes(b"\xef\xbb\xbfentry first condition Nowhere\n")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1 and f"--> {path}:1:23" in result.stderr
    latin = tmp_path / "bom-latin.cohort"
    latin.write_bytes(b"\xef\xbb\xbf" + LATIN1)
    with pytest.raises(CohortQLError) as raised:
        read_source(latin)
    assert "at byte offset 13" in str(raised.value)  # the offset in the file, BOM included; column 11


@pytest.mark.parametrize(("command", "rest"), [*READERS, ("compare", []), ("import", [])], ids=_ids)
def test_a_directory_says_it_is_one(command, rest, tmp_path):
    result = _run(command, tmp_path, rest)
    assert result.exit_code == 2, result.output
    assert f"error: {tmp_path} is a directory, not a definition file" in result.stderr
    assert "Traceback" not in result.output


def test_circe_json_with_a_byte_order_mark_imports_and_latin1_is_e006(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + PHENOTYPE.read_bytes())
    for command in ("check", "import"):
        assert runner.invoke(app, [command, str(path)]).exit_code == 0
    latin = tmp_path / "latin1.json"
    document = json.loads(PHENOTYPE.read_text(encoding="utf-8"))
    document["ConceptSets"][0]["name"] = "Maladie d'Alzheimer (é)"
    text = json.dumps(document, ensure_ascii=False)
    latin.write_bytes(text.encode("latin-1"))
    offset = text.encode("latin-1").index(b"\xe9")
    for command in ("check", "import", "count"):
        result = runner.invoke(app, [command, str(latin)])
        assert result.exit_code == 1 and f"byte 0xE9 at byte offset {offset} is not UTF-8" in result.stderr


def test_governance_reread_of_a_directory_is_a_refusal(tmp_path):
    from cohortql.governance import binding
    from cohortql.governance.errors import Refused

    with pytest.raises(Refused) as raised:
        binding.compile_file(tmp_path)
    assert "is a directory" in raised.value.message
    with pytest.raises(Refused) as raised:
        binding.compile_file(tmp_path / "gone.cohort")
    assert "no longer exists" in raised.value.message


def test_watch_shows_a_directory_and_keeps_watching(tmp_path):
    from cohortql.whatif.watch import watch

    shown = []
    watch(tmp_path, lambda previous, current: "counted", shown.append,
          lambda error, source: f"{type(error).__name__}: {error}", interval=0, iterations=2, sleep=lambda _: None)
    assert shown == [f"UnreadableFile: {tmp_path} is a directory, not a definition file"]


def test_an_endless_file_is_refused_not_read_into_memory():
    with pytest.raises(UnreadableFile) as raised:
        read_source("/dev/zero")
    assert "larger than" in raised.value.message
