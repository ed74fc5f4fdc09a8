"""What the terminal formats show is what was written: user text is never Rich markup or an
emoji code, table titles are one line, CSV numbers are numbers, `explain` keeps the labels."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cohortql.cli import app
from tests.conftest import REPO

runner = CliRunner()
Q4 = str(REPO / "examples" / "q4_coronary_events.cohort")
# A title and rule names a person may write: brackets (Rich markup), a closing tag that does not
# match (a MarkupError traceback before), an emoji code.
MARKUP = '''title "Q4 [draft] [/x] :warning: for review"
concepts CAD = {317576 "Coronary arteriosclerosis" with descendants}
entry first condition CAD
include "[red]age[/red] 40-79": age between 40 and 79
include ":smile: any time": condition CAD any time
'''


@pytest.fixture(autouse=True)
def _no_profile(monkeypatch, tmp_path, eunomia_target):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("COHORTQL_PROFILE", raising=False)
    monkeypatch.delenv("COHORTQL_DB", raising=False)


@pytest.mark.parametrize("command", [["count"], ["impact"], ["whatif", "--drop", ":smile: any time"], ["explain"]])
def test_user_text_is_printed_as_written(command, tmp_path):
    path = tmp_path / "markup.cohort"
    path.write_text(MARKUP, encoding="utf-8")
    cache = ["--no-cache"] if command[0] != "explain" else []
    result = runner.invoke(app, [command[0], str(path), *command[1:], *cache])
    assert result.exit_code == 0, result.output
    assert "[red]age[/red] 40-79" in result.stdout
    assert ":smile: any time" in result.stdout or command[0] == "whatif"
    if command[0] in ("count", "explain"):
        assert "Q4 [draft] [/x] :warning: for review" in result.stdout


def test_errors_with_markup_in_names_print_as_written(tmp_path):
    path = tmp_path / "twice.cohort"
    path.write_text(MARKUP + 'include "[red]age[/red] 40-79": age >= 1\n', encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1 and "rule `[red]age[/red] 40-79` is defined twice" in result.stderr


def test_table_titles_are_one_line(tmp_path):
    result = runner.invoke(app, ["count", Q4, "--by", "site,year", "--no-cache"])
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.stdout.splitlines()]
    assert "final cohort by site and year" in lines  # before: "final cohort by site" / "and year"
    long_title = "A title longer than the attrition table is wide, " * 3
    path = tmp_path / "long.cohort"
    body = [line for line in Path(Q4).read_text().splitlines() if not line.startswith("title")]
    path.write_text("\n".join([f'title "{long_title.strip()}"', *body]) + "\n", encoding="utf-8")
    lines = [line.rstrip() for line in runner.invoke(app, ["count", str(path), "--no-cache"]).stdout.splitlines()]
    assert lines[0] == long_title.strip()


def test_csv_numbers_are_numbers_with_the_display_beside():
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["count", Q4, "--format", "csv", "--by", "sex"]).stdout)))
    for row in rows:
        assert row["persons"] == "" or row["persons"].isdigit()
        assert row["persons_display"]  # what the terminal shows
        if row["persons"]:
            assert row["persons_display"] == row["persons"]
        else:
            assert row["persons_display"].startswith(("<", ">="))
    assert any(row["persons"] == "" for row in rows)  # q4 by sex has suppressed cells


@pytest.mark.parametrize(
    ("args", "columns"),
    [
        (["compare", Q4, Q4], ["persons", "persons_display", "gain_if_dropped", "gain_display"]),
        (["whatif", Q4, "--drop", "age 40-79"], ["persons", "persons_display"]),
        (["sweep", Q4, "--rule", "age 40-79", "--number", "1", "--vary", "40,50"], ["final", "final_display"]),
        (["impact", Q4], ["shapley", "shapley_display", "excluded_alone", "excluded_alone_display",
                          "final_without_rule", "final_without_rule_display"]),
    ],
    ids=lambda value: value[0] if isinstance(value[0], str) and not value[0].startswith("/") else "",
)
def test_what_if_csv_numbers_are_numbers(args, columns):
    result = runner.invoke(app, [*args, "--format", "csv", "--no-cache"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows
    for row in rows:
        for name in columns:
            if name.endswith("_display"):
                continue
            value = row[name]
            assert value == "" or value.lstrip("-").isdigit(), (name, row)
            display = row[{"gain_if_dropped": "gain_display"}.get(name, f"{name}_display")]
            assert display == value or not value and display, (name, row)


def test_explain_keeps_the_labels_written():
    result = runner.invoke(app, ["explain", str(REPO / "examples" / "q1_gi_bleed_nsaid.cohort")])
    assert '- GI_bleed: 192671 "Gastrointestinal hemorrhage" and its descendants' in result.stdout
    assert '  - 1177480 "ibuprofen" and its descendants' in result.stdout
