"""Any text either compiles or fails with positioned, coded diagnostics; never another exception.

About 10,000 inputs a run: token soup, mutated examples, arbitrary unicode, and formatted
random trees (which parse, so they reach the resolver, and some build a plan); a sample also
goes through the CLI.
"""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cohortql.cli import app
from cohortql.diagnostics import CohortQLError, Source
from cohortql.format import format_definition
from cohortql.parse.parser import keywords
from cohortql.pipeline import compile_source
from tests.conftest import EXAMPLES
from tests.strategies import definitions, resolvable_definitions

EXAMPLE_TEXTS = [path.read_text(encoding="utf-8") for path in EXAMPLES]


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


def assert_compiles_or_diagnoses(text: str) -> None:
    """The contract: success, or a `CohortQLError` whose every diagnostic can be shown."""
    try:
        compile_source(Source("fuzz.cohort", text))
    except CohortQLError as error:
        assert error.diagnostics
        for diagnostic in error.diagnostics:
            assert diagnostic.span.line >= 1, diagnostic
            assert diagnostic.span.column >= 1, diagnostic
            assert re.fullmatch(r"E\d{3}", diagnostic.code), diagnostic
        assert str(error)
        json.dumps(error.to_dicts())


# ---- (a) token soup -----------------------------------------------------------------------------

TOKENS = sorted(keywords()) + [
    "T2DM", "HbA1c", "x", "female", "inpatient", "site", "age10", "ICD10CM", "Index",
    "0", "1", "-1", "+2", "30", "365", "4112853", "99999999999999999999", "7.0", "-0.5", "10.25",
    "2024-01-01", "2024-02-30", "0000-00-00",
    "distinct days of", "ignoring observation period", "distinct", "ignoring",
    "=", "{", "}", "(", ")", ",", ":", ">=", "<=", "!=", ">", "<", "-", "+", ".", "%",
    '"', '"T2DM"', '"a \\" b"', '"mg/dL"', '"E11%"', '""', '"\\', "#", "# note", "\n", "\r\n", "\t",
]
separators = st.sampled_from([" ", " ", " ", "", "\n", "  "])


@st.composite
def token_soup(draw) -> str:
    tokens = draw(st.lists(st.sampled_from(TOKENS), max_size=60))
    return "".join(token + draw(separators) for token in tokens)


# Statement openings give the soup a chance to get past the first token.
soup = st.one_of(
    token_soup(),
    st.builds(lambda head, rest: head + rest,
              st.sampled_from(['include "r": ', "entry first ", "concepts X = {", "require observation ",
                               'entry all condition X\ninclude "r": ', "breakdown by "]),
              token_soup()),
)


@fuzz_settings(3000)
@given(soup)
def test_token_soup(text):
    assert_compiles_or_diagnoses(text)


# ---- (b) mutated examples ------------------------------------------------------------------------

WORD = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|[+-]?\d[\d.-]*|\s+|.', re.DOTALL)


@st.composite
def mutated_example(draw) -> str:
    """An example file after a few character- or token-level deletions, insertions, swaps, copies."""
    text = draw(st.sampled_from(EXAMPLE_TEXTS))
    for _ in range(draw(st.integers(1, 6))):
        units = WORD.findall(text) if draw(st.booleans()) else list(text)
        if not units:
            units = [""]
        i = draw(st.integers(0, len(units) - 1))
        j = draw(st.integers(i, min(len(units), i + 4)))
        operation = draw(st.sampled_from(["delete", "insert", "swap", "duplicate", "replace"]))
        if operation == "delete":
            del units[i:j]
        elif operation == "insert":
            units.insert(i, draw(st.one_of(st.sampled_from(TOKENS), st.sampled_from(units), st.characters())))
        elif operation == "swap":
            k = draw(st.integers(0, len(units) - 1))
            units[i], units[k] = units[k], units[i]
        elif operation == "duplicate":
            units[i:i] = units[i:j]
        else:
            units[i] = draw(st.sampled_from(TOKENS))
        text = "".join(units)
    return text


@fuzz_settings(3500)
@given(mutated_example())
def test_mutated_examples(text):
    assert_compiles_or_diagnoses(text)


# ---- (c) arbitrary unicode -------------------------------------------------------------------------

unicode_text = st.one_of(
    st.text(st.characters(blacklist_categories=()), max_size=200),  # surrogates included
    st.text(st.one_of(st.characters(), st.sampled_from('"#\n{}(),:=<>-.0123456789 ')), max_size=120),
)


@fuzz_settings(2000)
@given(unicode_text)
def test_arbitrary_unicode(text):
    assert_compiles_or_diagnoses(text)


# ---- (d) generated trees: they parse, so they exercise the resolver -----------------------------------


@fuzz_settings(1000)
@given(definitions())
def test_generated_definitions(tree):
    assert_compiles_or_diagnoses(format_definition(tree))


@fuzz_settings(500)
@given(resolvable_definitions())
def test_resolvable_definitions_compile_to_a_plan(tree):
    compile_source(Source("generated.cohort", format_definition(tree)))


# ---- deep nesting ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "criterion",
    [
        "not " * 1000 + "age > 1",
        "any of (" * 500 + "age > 1" + ")" * 500,
        "not any of (" * 300 + "sex male" + ")" * 300,
    ],
    ids=["not", "any_of", "mixed"],
)
def test_deep_nesting_is_diagnosed_not_crashed(criterion):
    assert_compiles_or_diagnoses(f'entry first visit\ninclude "deep": {criterion}\n')


# ---- the CLI on a sample -----------------------------------------------------------------------------------

printable_text = st.one_of(
    soup,
    mutated_example(),
    st.text(max_size=120),  # no surrogates: the file must be writable as UTF-8
)


@fuzz_settings(200)
@given(text=printable_text)
def test_cli_check_never_shows_a_traceback(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "input.cohort"
    path.write_text(text, encoding="utf-8")
    for arguments in (["check", str(path)], ["check", "--format", "json", str(path)]):
        result = CliRunner().invoke(app, arguments)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert "Traceback" not in result.output
        assert result.exit_code in {0, 1}, result.output
