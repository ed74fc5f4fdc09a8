"""`cohortql report` on the tiny hand-made CDM: the files it writes and its errors."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from cohortql.cli import app
from tests.conftest import REPO

Q7 = str(REPO / "examples" / "q7_type2_diabetes_trial.cohort")


@pytest.fixture(autouse=True)
def _no_profile(monkeypatch, tmp_path):
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    monkeypatch.delenv("COHORTQL_PROFILE", raising=False)  # no profile: the defaults
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


def test_the_report_is_written_as_html(tiny_duckdb_target, tmp_path):
    out = tmp_path / "feasibility.html"
    result = CliRunner().invoke(app, ["report", Q7, "--db", tiny_duckdb_target.url, "-o", str(out),
                                      "--lang", "fr", "--by", "site_group", "--target", "5"])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="fr">' in page
    assert "Cohorte finale par groupe de sites" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//""", page)  # nothing to fetch


@pytest.mark.parametrize(("arguments", "message"), [
    (["-o", "report.docx"], "cannot tell the format of report.docx"),
    (["-o", "report.html", "--enrol-fraction", "0"], "is not a share"),
    (["-o", "report.html", "--enrol-fraction", "1.5"], "is not a share"),
    (["-o", "report.html", "--by", "ward"], "Invalid value"),
    (["-o", "report.html", "--lang", "de"], "Invalid value"),
])
def test_usage_errors_exit_2(arguments, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["report", Q7, *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "report.html").exists()


def test_no_browser_for_the_pdf_is_a_clear_error(tiny_duckdb_target, tmp_path, monkeypatch):
    monkeypatch.setenv("COHORTQL_CHROMIUM", str(tmp_path / "no-such-browser"))
    result = CliRunner().invoke(app, ["report", Q7, "--db", tiny_duckdb_target.url, "-o",
                                      str(tmp_path / "feasibility.pdf")])
    assert result.exit_code == 1
    assert "no Chromium browser found" in result.output and "hint:" in result.output
    assert "Traceback" not in result.output


def test_the_report_through_the_what_if_cache_is_the_one_pass_report(tiny_duckdb_target, tmp_path):
    """`--cache` (cold, then warm) and `--no-cache` write the same protected result into the page."""
    def embedded(*options) -> str:
        out = tmp_path / "page.html"
        result = CliRunner().invoke(app, ["report", Q7, "--db", tiny_duckdb_target.url, "-o", str(out),
                                          *options])
        assert result.exit_code == 0, result.output
        page = out.read_text(encoding="utf-8")
        return re.search(r'<script type="application/json" id="protected-result">(.*?)</script>', page, re.S)[1]

    one_pass = embedded("--no-cache")
    cache = str(tmp_path / "cache")
    assert embedded("--cache", cache) == one_pass  # filled
    assert embedded("--cache", cache) == one_pass  # read
    assert any((tmp_path / "cache").iterdir())
