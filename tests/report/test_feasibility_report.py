"""Proof of the feasibility report in a real browser: examples/q7 on a synthetic CDM.

The page is opened by headless Chromium (the OS package): no console error, no request but the
page itself and its data: URLs, every section there, every number on the page the one of the
protected JSON result computed here, a screenshot that is not blank. The PDF opens: pdftoppm
renders every page, and pdftotext finds the same numbers.
"""

from __future__ import annotations

import io
import json
import re
import subprocess

import pytest
from PIL import Image

from cohortql import pipeline
from cohortql.execute.target import resolve_target
from cohortql.fixtures.synthetic import generate
from cohortql.report.document import report_html, write_report
from tests.conftest import REPO
from tests.report.headless_browser import visit

SECTIONS = ("title", "protocol", "sponsor", "data-source", "data-date", "summary", "definition", "attrition",
            "by-place", "by-sex-age", "series", "series-grain", "forecast", "provenance")
PROBE = """JSON.stringify({
  sections: [...document.querySelectorAll('[id]')].map(e => e.id),
  counts: [...document.querySelectorAll('[data-pointer]')].map(e => [e.dataset.pointer, e.textContent]),
  embedded: document.getElementById('protected-result').textContent,
  lang: document.documentElement.lang,
  headings: [...document.querySelectorAll('h2')].map(e => e.textContent),
  svgs: document.querySelectorAll('figure svg').length,
})"""


@pytest.fixture(scope="module")
def q7(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    target = resolve_target(f"duckdb:///{generate(folder / 'cdm.duckdb', 20000, 42)}")
    compiled = pipeline.compile_source(pipeline.read_source(REPO / "examples" / "q7_type2_diabetes_trial.cohort"))
    answer = pipeline.run_report(compiled, target)
    pages = {}
    for lang in ("en", "fr"):
        pages[lang] = folder / f"q7-{lang}.html"
        write_report(report_html(answer, compiled, answered_by=target.description, lang=lang, target=30), pages[lang])
    return answer, pages, folder


@pytest.fixture(scope="module", params=["en", "fr"])
def opened(request, q7):
    answer, pages, _folder = q7
    found = visit(pages[request.param], PROBE)
    return request.param, answer, found, json.loads(found.value)


def _pointer(document: dict, pointer: str):
    for part in pointer.strip("/").split("/"):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def _number(text: str) -> int:
    """`1,234` (English) or `1 234` (French, a narrow no-break space) as an int."""
    return int(re.sub(r"[,\u202f\u00a0 ]", "", text))


def test_the_page_opens_offline_without_errors(opened):
    _lang, _answer, found, page = opened
    assert found.errors == []
    assert found.requests and all(url.startswith(("file://", "data:")) for url in found.requests)
    assert set(SECTIONS) <= set(page["sections"])
    assert page["svgs"] >= 5  # attrition, sites, sex and age, series, forecast


def test_every_number_on_the_page_is_the_protected_one(opened):
    lang, answer, _found, page = opened
    result = json.loads(json.dumps(answer.result.to_dict(), default=str))
    assert json.loads(page["embedded"]) == result
    marks = {answer.result.policy.suppressed_text, answer.result.policy.complementary_text.replace(">=", "≥")}
    for pointer, text in page["counts"]:
        value = _pointer(result, pointer)
        if value is None:
            assert text in marks, pointer
        else:
            assert _number(text) == value, pointer
            if lang == "fr" and value >= 1000:
                assert "\u202f" in text  # 1 234
    shown = {pointer for pointer, _text in page["counts"]}
    expected = {f"/attrition/{i}/value" for i in range(len(result["attrition"]))}
    expected |= {f"/attrition/{i}/gain/value" for i in range(1, len(result["attrition"]))}
    for t, table in enumerate(result["breakdowns"][:2]):  # by site, by sex and age: every cell and margin
        expected |= {f"/breakdowns/{t}/cells/{i}/value" for i in range(len(table["cells"]))}
        expected |= {f"/breakdowns/{t}/margins/{i}/value" for i in range(len(table["margins"]))}
    series = result["breakdowns"][2]
    expected |= {f"/breakdowns/2/cells/{i}/value" for i in range(len(series["cells"]))}
    assert expected <= shown


def test_the_page_is_in_its_language(opened):
    lang, _answer, _found, page = opened
    assert page["lang"] == lang
    assert ("Recruitment forecast" if lang == "en" else "Prévision de recrutement") in page["headings"]


def test_the_screenshot_is_not_blank(opened):
    _lang, _answer, found, _page = opened
    image = Image.open(io.BytesIO(found.screenshot)).convert("L")
    assert image.height > 3000  # the whole page, not the first screen
    histogram = image.histogram()
    inked = sum(histogram[:200]) / (image.width * image.height)
    assert 0.01 < inked < 0.6


def test_the_probe_sees_console_errors_and_requests(tmp_path):
    """The checks above could fail: a page that logs an error and asks for a URL is caught."""
    page = tmp_path / "noisy.html"
    page.write_text('<html><body><img src="http://127.0.0.1:9/x.png"><script>console.error("boom")</script>'
                    "</body></html>", encoding="utf-8")
    found = visit(page, "1")
    assert any("boom" in m["text"] for m in found.errors)
    assert "http://127.0.0.1:9/x.png" in found.requests


def test_the_pdf_has_every_page_and_the_same_numbers(q7):
    answer, pages, folder = q7
    pdf = folder / "q7.pdf"
    write_report(pages["en"].read_text(encoding="utf-8"), pdf)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    page_count = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    assert "A4" in info or re.search(r"Page size:\s+595", info)
    assert page_count >= 2
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(folder / "page")], check=True)
    rendered = sorted(folder.glob("page-*.png"))
    assert len(rendered) == page_count
    for png in rendered:
        image = Image.open(png).convert("L")
        assert sum(image.histogram()[:200]) > 0.005 * image.width * image.height, png.name
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    result = answer.result
    assert result.title in " ".join(text.split())
    for step in result.attrition:
        assert step.persons.display.replace(">=", "≥") in text
    for cell in result.breakdowns[0].cells:
        assert cell.count.display.replace(">=", "≥") in text
    assert result.fingerprint in text.replace("\n", "").replace(" ", "")
