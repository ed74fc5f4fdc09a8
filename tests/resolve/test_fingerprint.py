"""The fingerprint is of meaning: statement order, cosmetics and Python names keep it; a change of meaning moves it."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cohortql.diagnostics import Source
from cohortql.fingerprint import KINDS, canonical, fingerprint
from cohortql.format import format_definition
from cohortql.parse import ast
from cohortql.pipeline import compile_source
from cohortql.resolve import plan
from tests.conftest import EXAMPLES
from tests.strategies import resolvable_definitions, with_comments

examples_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _fingerprint(text: str) -> str:
    return fingerprint(compile_source(Source("t.cohort", text)).plan)


def _plan(tree: ast.Definition) -> plan.Plan:
    return compile_source(Source("generated.cohort", format_definition(tree))).plan


@examples_settings
@given(resolvable_definitions(), st.randoms(use_true_random=False))
def test_reordering_concept_set_statements_keeps_it(tree, random):
    positions = [i for i, s in enumerate(tree.statements) if isinstance(s, ast.ConceptSet)]
    shuffled = random.sample([tree.statements[i] for i in positions], len(positions))
    statements = list(tree.statements)
    for position, statement in zip(positions, shuffled, strict=True):
        statements[position] = statement
    reordered = ast.Definition(tuple(statements))
    assert fingerprint(_plan(reordered)) == fingerprint(_plan(tree))


@examples_settings
@given(resolvable_definitions(), st.data())
def test_comments_and_layout_keep_it(tree, data):
    text = format_definition(tree)
    commented, _ = data.draw(with_comments(text))
    assert _fingerprint(commented) == _fingerprint(text)


def _rename(node, names: set[str]):
    """The tree with every concept-set name in `names` (definitions and references) given a suffix."""
    if isinstance(node, ast.Name):
        return ast.Name(node.text + "_renamed", node.span) if node.text in names else node
    if isinstance(node, ast.Breakdown):
        return node  # dimension names, not concept sets
    if isinstance(node, tuple):
        return tuple(_rename(item, names) for item in node)
    if dataclasses.is_dataclass(node):
        return dataclasses.replace(node, **{f.name: _rename(getattr(node, f.name), names)
                                            for f in dataclasses.fields(node) if f.init})
    return node


@examples_settings
@given(resolvable_definitions())
def test_renaming_a_concept_set_everywhere_keeps_it(tree):
    names = {s.name.text for s in tree.statements if isinstance(s, ast.ConceptSet)}
    renamed = _rename(tree, names)
    assert format_definition(renamed) != format_definition(tree)
    assert fingerprint(_plan(renamed)) == fingerprint(_plan(tree))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_reformatting_an_example_keeps_it(example):
    text = example.read_text(encoding="utf-8")
    tree = compile_source(Source(example.name, text)).definition
    assert _fingerprint(format_definition(tree)) == _fingerprint(text)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_python_class_names_are_not_in_it(example):
    form = json.dumps(canonical(compile_source(Source(example.name, example.read_text(encoding="utf-8"))).plan))
    names = {value.__name__ for value in vars(plan).values() if dataclasses.is_dataclass(value)}
    assert not [name for name in names if f'"{name}"' in form]
    assert '"kind": "occurrence"' in form or '"kind": "entry"' in form  # the tags stand in for them


def test_every_plan_class_has_a_tag():
    classes = {value for value in vars(plan).values() if dataclasses.is_dataclass(value) and isinstance(value, type)}
    assert classes - {plan.Codeset} == set(KINDS)
    assert len(set(KINDS.values())) == len(KINDS)


# ---- changes of meaning ---------------------------------------------------------------------------------

Q3 = next(path for path in EXAMPLES if path.stem.startswith("q3")).read_text(encoding="utf-8")
Q1 = next(path for path in EXAMPLES if path.stem.startswith("q1")).read_text(encoding="utf-8")


MEANING_CHANGES = {
    "a number": (Q3, "age >= 65", "age >= 66"),
    "a window": (Q3, "30 days after", "31 days after"),
    "a concept id": (Q3, "1310149", "1310150"),
    "descendants on": (Q1, '"Peptic ulcer"}', '"Peptic ulcer" with descendants}'),
    "include to exclude": (Q1, 'include "', 'exclude "'),
    "a rule name": (Q3, 'include "', 'include "renamed '),
    "the entry mode": (Q3, "entry first", "entry all"),
    "a qualify criterion": (Q3, "\ninclude ", "\nqualify all: age >= 18\ninclude "),
    "a start date filter": (Q1, "condition GI_bleed\n", "condition GI_bleed with start date >= 2010-01-01\n"),
    "an age filter": (Q1, "condition GI_bleed\n", "condition GI_bleed with age >= 18\n"),
    "a sex filter": (Q1, "condition GI_bleed\n", "condition GI_bleed with sex male\n"),
}


@pytest.mark.parametrize("change", MEANING_CHANGES, ids=list(MEANING_CHANGES))
def test_a_change_of_meaning_changes_it(change):
    text, old, new = MEANING_CHANGES[change]
    assert old in text, change  # the example still says what the change assumes
    assert _fingerprint(text.replace(old, new, 1)) != _fingerprint(text)


def test_qualify_earliest_or_all_differ_only_with_entry_all():
    def qualified(entry: str, mode: str) -> str:
        text = Q3.replace("entry first", f"entry {entry}")
        return _fingerprint(text.replace("\ninclude ", f"\nqualify {mode}: age >= 18\ninclude ", 1))

    assert qualified("all", "earliest") != qualified("all", "all")
    assert qualified("earliest", "earliest") == qualified("earliest", "all")  # one event per person either way


def test_a_construct_left_out_keeps_the_fingerprints_it_had():
    """Fields added with a later construct (`qualify`) are not written while absent."""
    written = json.dumps(canonical(compile_source(Source("q3.cohort", Q3)).plan))
    for field in ("qualify", "start_date", "age", "gender_concept_ids", "range_low", "range_high_ratio"):
        assert f'"{field}":' not in written


def test_rule_order_changes_it_because_the_released_attrition_does():
    q1 = compile_source(Source("q1.cohort", Q1)).plan
    reordered = dataclasses.replace(q1, rules=q1.rules[::-1])
    assert fingerprint(reordered) != fingerprint(q1)


def _plans_and_edits():
    """A generated plan and one edit of its meaning, made on the plan itself."""

    def flip_rule(p: plan.Plan, index: int) -> plan.Plan:
        rule = p.rules[index % len(p.rules)]
        kind = "exclude" if rule.kind == "include" else "include"
        rules = tuple(dataclasses.replace(r, kind=kind) if r is rule else r for r in p.rules)
        return dataclasses.replace(p, rules=rules)

    def edit_concept(p: plan.Plan, index: int, edit) -> plan.Plan:
        codeset = p.codesets[index % len(p.codesets)]
        items = (edit(codeset.items[0]), *codeset.items[1:])
        codesets = tuple(dataclasses.replace(c, items=items) if c is codeset else c for c in p.codesets)
        return dataclasses.replace(p, codesets=codesets)

    def observation(p: plan.Plan, _index: int) -> plan.Plan:
        return dataclasses.replace(p, entry=dataclasses.replace(p.entry, prior_days=p.entry.prior_days + 1))

    edits = {
        "include vs exclude": lambda p, i: flip_rule(p, i) if p.rules else None,
        "a concept id": lambda p, i: edit_concept(p, i, lambda c: dataclasses.replace(c, concept_id=c.concept_id + 1)),
        "descendants": lambda p, i: edit_concept(p, i, lambda c: dataclasses.replace(c, descendants=not c.descendants)),
        "observation days": observation,
    }
    return st.tuples(resolvable_definitions().map(_plan), st.sampled_from(sorted(edits)), st.integers(0, 10)).map(
        lambda drawn: (drawn[0], drawn[1], edits[drawn[1]](drawn[0], drawn[2]))
    )


@examples_settings
@given(_plans_and_edits())
def test_any_edit_of_a_generated_plan_changes_it(drawn):
    original, edit, edited = drawn
    assume(edited is not None)  # a plan without rules has none to flip
    assert edited != original, edit
    assert fingerprint(edited) != fingerprint(original), edit
