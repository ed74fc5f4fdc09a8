"""The formatter: round trip to an equal tree, a fixed point, comments kept; `cohortql fmt`."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cohortql.cli import app
from cohortql.format import format_definition
from cohortql.parse import ast, parse
from tests.conftest import EXAMPLES
from tests.strategies import definitions, resolvable_definitions, with_comments

trees = st.one_of(definitions(), resolvable_definitions())
property_settings = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---- properties --------------------------------------------------------------------------------


@property_settings
@given(trees)
def test_formatted_text_parses_back_to_the_same_tree(tree):
    text = format_definition(tree)
    assert parse(text) == tree
    assert text == "" or (text.endswith("\n") and not text.endswith("\n\n"))


@property_settings
@given(trees)
def test_formatting_is_idempotent(tree):
    text = format_definition(tree)
    assert format_definition(parse(text)) == text


@property_settings
@given(trees, st.data())
def test_comments_survive_in_order_and_formatting_stays_a_fixed_point(tree, data):
    commented, comments = data.draw(with_comments(format_definition(tree)))
    assert parse(commented) == tree
    text = format_definition(parse(commented))
    reparsed = parse(text)
    assert reparsed == tree
    assert [c.text for c in reparsed.comments] == [c.rstrip() for c in comments]
    assert format_definition(reparsed) == text


# ---- the examples --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_formats_to_an_equal_tree_and_a_fixed_point(path):
    source = path.read_text(encoding="utf-8")
    text = format_definition(parse(source))
    assert parse(text) == parse(source)
    assert format_definition(parse(text)) == text
    assert [c.text for c in parse(text).comments] == [c.text for c in parse(source).comments]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_is_already_formatted(path):
    source = path.read_text(encoding="utf-8")
    assert format_definition(parse(source)) == source


# ---- layout and spelling ---------------------------------------------------------------------------

MESSY = """\
# header comment

title   "T"   # trailing title
protocol "P" concepts A = {  # inside A
    1 "one" ,
  # inside A too
    2
}  # after A
concepts B = {3,}
# before entry
entry first
  condition A
include "r": any of (  # group open
    age > 1, sex female,  # inside
not all of (sex male)
)  # rule end


# before breakdown (two blank lines above)

breakdown by site
# the end  \r
"""

TIDY = """\
# header comment

title "T"  # trailing title
protocol "P"

# inside A
# inside A too
concepts A = {
    1 "one",
    2,
}  # after A
concepts B = {3}

# before entry
entry first condition A

# group open
# inside
include "r": any of (
    age > 1,
    sex female,
    not all of (
        sex male,
    ),
)  # rule end

# before breakdown (two blank lines above)

breakdown by site
# the end
"""


def test_comments_are_kept_where_they_belong():
    assert format_definition(parse(MESSY)) == TIDY
    assert format_definition(parse(TIDY)) == TIDY


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ('include "a": drug X within 1 days before index', 'include "a": drug X within 1 day before index'),
        ('include "a": drug X within 30 day of index', 'include "a": drug X within 30 days of index'),
        ('include "a": drug X from -1 days after index to index',
         'include "a": drug X from -1 day after index to index'),
        ("require observation 1 days before and 0 day after index",
         "require observation 1 day before and 0 days after index"),
        ("entry all drug X with duration >= 90", "entry all drug X with duration >= 90 days"),
        ("entry all drug X with duration = 1.0", "entry all drug X with duration = 1.0 day"),
        ("entry all drug X with duration between 1 and 1", "entry all drug X with duration between 1 and 1 days"),
        ('include "a": measurement M with value between 7.0 and 10.50 on index',
         'include "a": measurement M with value between 7.0 and 10.50 on index'),
        ('include "a": measurement M with value > 0.0000001 on index',
         'include "a": measurement M with value > 0.0000001 on index'),
        ('include "a": measurement M with value >= +5 on index', 'include "a": measurement M with value >= 5 on index'),
        ('title "say \\"hi\\" \\\\ \\q"', 'title "say \\"hi\\" \\\\ q"'),
        ('include "a": drug X with unit "mg","%" ,8554 on index',
         'include "a": drug X with unit "mg", "%", 8554 on index'),
        ('include "a": at  least 2 distinct  days  of drug X any time ignoring   observation period',
         'include "a": at least 2 distinct days of drug X any time ignoring observation period'),
        ('include "a": exactly 1 distinct day of drug X on index',
         'include "a": exactly 1 distinct days of drug X on index'),
        ('include "a": no drug X any time after index', 'include "a": no drug X any time after index'),
        ("concepts E = {}", "concepts E = {}"),
        ('concepts S = {source ICD10CM "E11%",}', 'concepts S = {source ICD10CM "E11%"}'),
        ('include "d": index date between 2024-01-01 and 2025-12-31',
         'include "d": index date between 2024-01-01 and 2025-12-31'),
        ("breakdown by site,sex", "breakdown by site, sex"),
        ('include "r": measurement M with  start   date >= 2010-01-01 with age between 18 and 65 with sex  female'
         ' with range  low  ratio > 1.50 on index',
         'include "r": measurement M with start date >= 2010-01-01 with age between 18 and 65 with sex female'
         ' with range low ratio > 1.50 on index'),
    ],
)
def test_canonical_spelling(written, canonical):
    assert format_definition(parse(written)) == canonical + "\n"


def test_statements_of_one_kind_stay_together_and_kinds_are_separated():
    text = 'include "a": age > 1\ntitle "T"\nentry first visit\nrequire observation 3 days before index\n' \
           'include "b": age > 2\nexclude "c": age > 3\n'
    assert format_definition(parse(text)) == (
        'include "a": age > 1\n\ntitle "T"\n\nentry first visit\nrequire observation 3 days before index\n\n'
        'include "b": age > 2\nexclude "c": age > 3\n'
    )


def test_line_endings_and_empty_input():
    assert format_definition(parse('title "T"\r\nprotocol "P"  # p\r\n')) == 'title "T"\nprotocol "P"  # p\n'
    assert format_definition(parse("")) == ""
    only_comments = "\n\n# only a comment\n\n\n# and another\n"
    assert format_definition(parse(only_comments)) == "# only a comment\n\n# and another\n"


def test_trees_built_in_code_keep_their_comments_at_the_end():
    tree = ast.Definition((ast.Meta("title", "T"),), (ast.Comment("# note", 1, 1),))
    assert format_definition(tree) == 'title "T"\n# note\n'


def test_a_string_with_a_line_break_cannot_be_written():
    with pytest.raises(ValueError, match="line break"):
        format_definition(ast.Definition((ast.Meta("title", "two\nlines"),)))


# ---- the command line ---------------------------------------------------------------------------------


def test_fmt_check_fails_on_an_unformatted_file_and_passes_after_fmt(tmp_path):
    runner = CliRunner()
    path = tmp_path / "messy.cohort"
    path.write_bytes(MESSY.encode())

    checked = runner.invoke(app, ["fmt", "--check", str(path)])
    assert checked.exit_code == 1, checked.output
    assert path.read_bytes() == MESSY.encode()

    rewritten = runner.invoke(app, ["fmt", str(path)])
    assert rewritten.exit_code == 0, rewritten.output
    assert path.read_bytes() == TIDY.encode()

    assert runner.invoke(app, ["fmt", "--check", str(path)]).exit_code == 0


def test_fmt_check_passes_on_the_examples():
    result = CliRunner().invoke(app, ["fmt", "--check", *map(str, EXAMPLES)])
    assert result.exit_code == 0, result.output


def test_fmt_reports_a_syntax_error_and_leaves_the_file_alone(tmp_path):
    path = tmp_path / "broken.cohort"
    path.write_text("entry first condtion X\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["fmt", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert path.read_text(encoding="utf-8") == "entry first condtion X\n"
