"""A small cohort's report shows no count below the threshold anywhere: text, charts, embedded data.

One case per way a count is withheld: the final count itself small, small cells in the tables,
counts hidden to protect a small one (shown as >=k), zeros suppressed too, and a series that had
to be coarsened. Each checks every text node of the page (inline SVG included), every count the
page marks, and every number of the embedded protected JSON.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from cohortql import pipeline
from cohortql.execute.target import resolve_target
from cohortql.fixtures.synthetic import generate
from cohortql.protect import DisclosurePolicy
from cohortql.report.document import report_html
from tests.conftest import REPO

CASES = {
    # name: (example, policy)
    "final count small": ("q7_type2_diabetes_trial", DisclosurePolicy(threshold=200)),
    "small cells": ("q8_heart_failure", DisclosurePolicy()),
    "final count hidden to protect a small one": ("q7_type2_diabetes_trial", DisclosurePolicy()),
    "zeros suppressed": ("q8_heart_failure", DisclosurePolicy(suppress_zero=True)),
}


class _Page(HTMLParser):
    """Every text node, outside the forecast chart (model outputs, not counts: docs/report.md)."""

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self.embedded = ""
        self._depth_in_forecast = 0
        self._in_json = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self._depth_in_forecast or attrs.get("id") == "forecast-chart":
            self._depth_in_forecast += 1
        self._in_json = attrs.get("id") == "protected-result"

    def handle_endtag(self, tag):
        if self._depth_in_forecast:
            self._depth_in_forecast -= 1
        self._in_json = False

    def handle_data(self, data):
        if self._in_json:
            self.embedded += data
        elif not self._depth_in_forecast and data.strip():
            self.texts.append(data.strip())


@pytest.fixture(scope="module")
def small_cdm(tmp_path_factory):
    return resolve_target(f"duckdb:///{generate(tmp_path_factory.mktemp('small') / 'cdm.duckdb', 1500, 42)}")


@pytest.fixture(scope="module", params=list(CASES))
def case(request, small_cdm):
    example, policy = CASES[request.param]
    compiled = pipeline.compile_source(pipeline.read_source(REPO / "examples" / f"{example}.cohort"))
    answer = pipeline.run_report(compiled, small_cdm, policy)
    html = report_html(answer, compiled, answered_by=small_cdm.description, target=20)
    page = _Page()
    page.feed(html)
    return request.param, policy, answer, html, page


def _small(text: str, policy: DisclosurePolicy) -> bool:
    if not re.fullmatch(r"\d[\d,\u202f\u00a0]*", text):
        return False
    return policy.is_small(int(re.sub(r"\D", "", text)))


def _values(document):
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "value":
                yield value
            else:
                yield from _values(value)
    elif isinstance(document, list):
        for item in document:
            yield from _values(item)


def test_no_text_on_the_page_is_a_small_count(case):
    _name, policy, _answer, _html, page = case
    assert page.texts
    assert [t for t in page.texts if _small(t, policy)] == []


def test_the_embedded_result_holds_no_small_count(case):
    _name, policy, answer, _html, page = case
    embedded = json.loads(page.embedded)
    counts = {key: embedded[key] for key in ("final", "entries", "attrition", "breakdowns")}
    values = list(_values(counts))
    assert values and not any(v is not None and policy.is_small(v) for v in values)
    assert None in values  # something was withheld: the case is one of suppression
    assert embedded == json.loads(json.dumps(answer.result.to_dict(), default=str))


def test_each_case_withholds_what_it_should(case):
    name, policy, answer, html, _page = case
    result = answer.result
    small, hidden = policy.suppressed_text, policy.complementary_text
    if name == "final count small":
        assert result.final.display == small
        assert f"Fewer than {policy.threshold} patients" in html
    elif name == "final count hidden to protect a small one":
        assert result.final.display == hidden
        assert f"At least {policy.threshold} patients" in html and "≥10" in html
    elif name == "small cells":
        by_site = result.breakdowns[0]
        assert any(c.count.display == small for c in by_site.cells)
        # a suppressed cell is drawn hatched and marked, never as a bar of zero
        assert 'hatch' in html or "pattern" in html
        assert answer.layout.finer_grains_refused  # monthly by site was mostly small: said so
        assert "mostly below the threshold" in html
    elif name == "zeros suppressed":
        cells = [c for table in result.breakdowns for c in table.cells]
        assert not any(c.count.value == 0 for c in cells)
        assert any(c.count.display == small for c in cells)
