"""Proof by attack on variant releases (compare, whatif, sweep, impact): differences across
variants must not reveal a small count.

The intruder of test_intruder.py (scipy's linprog, written apart from cohortql.protect) reads the
released JSON of every variant at once. Its hidden variables are persons by their rule mask in
every variant (or no entry there). Sensitive: each `<k` cell, the persons removed by each rule of
each variant, and for two variants the persons one keeps at a step and the other does not (what
the difference of two released counts is about). None may be narrowed below the protection level.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cohortql.protect import DisclosurePolicy
from cohortql.protect.variants import Variant, VariantCounts, protect_variants
from tests.protect.test_intruder import SETTINGS, IntruderView, counts, policies


@st.composite
def variant_counts(draw):
    """Two or three variants of up to two rules; persons drawn for a sample of joint classes."""
    n_variants = draw(st.integers(2, 3))
    sizes = [draw(st.integers(0, 2)) for _ in range(n_variants)]
    variants = tuple(
        Variant(f"v{v}", tuple(f"rule {i + 1}" for i in range(n)), tuple("include" for _ in range(n)))
        for v, n in enumerate(sizes)
    )
    choices = [[None, *range(2**n)] for n in sizes]
    classes = [c for c in itertools.product(*choices) if any(m is not None for m in c)]
    chosen = draw(st.lists(st.sampled_from(classes), min_size=1, max_size=8, unique=True))
    rows = tuple((c, size) for c in chosen if (size := draw(counts)))
    return VariantCounts(variants, rows)


def _members(variant: Variant, mask: int | None) -> dict[str, bool]:
    n = len(variant.rule_names)
    full = (1 << n) - 1
    steps = {"entry": mask is not None}
    for i, name in enumerate(variant.rule_names, start=1):
        prefix = (1 << i) - 1
        steps[name] = mask is not None and mask & prefix == prefix
    steps["final"] = mask is not None and mask & full == full
    return steps


def attack_variants(data: VariantCounts, policy: DisclosurePolicy) -> list[str]:
    released = protect_variants(data, policy, fingerprints=(), database={}).to_dict()
    classes = [masks for masks, _ in data.rows]
    truth = np.array([float(size) for _, size in data.rows])
    view = IntruderView(len(classes), policy)

    def row(where) -> np.ndarray:
        return np.array([float(where(masks)) for masks in classes])

    step_rows = []
    for v, (variant, shown) in enumerate(zip(data.variants, released["variants"], strict=True)):
        steps = {}
        n = len(variant.rule_names)
        full = (1 << n) - 1
        for i, step in enumerate(shown["attrition"]):
            name = step["rule"]
            r = row(lambda masks, v=v, name=name, variant=variant: _members(variant, masks[v])[name])
            steps[name] = r
            view.show(r, step["display"], int(r @ truth))
            if i:
                g = full & ~(1 << (i - 1))
                r = row(lambda masks, v=v, g=g: masks[v] == g)
                view.show(r, step["gain"]["display"], int(r @ truth))
        final = row(lambda masks, v=v, variant=variant: _members(variant, masks[v])["final"])
        steps["final"] = final
        view.show(final, shown["final"]["display"], int(final @ truth))
        step_rows.append(steps)

    sensitive = [(f"shown {i}", r, true) for i, (r, display, true) in enumerate(view.shown)
                 if display == f"<{policy.threshold}"]
    for v, variant in enumerate(data.variants):
        names = ["entry", *variant.rule_names]
        for before, after in zip(names, names[1:], strict=False):
            removed = step_rows[v][before] - step_rows[v][after]
            sensitive.append((f"v{v} removed by {after}", removed, int(removed @ truth)))
    for v, w in itertools.combinations(range(len(data.variants)), 2):
        for name in step_rows[v].keys() & step_rows[w].keys():
            mine, theirs = step_rows[v][name], step_rows[w][name]
            only_v, only_w = mine * (1 - theirs), theirs * (1 - mine)
            sensitive.append((f"{name}: in v{v}, not v{w}", only_v, int(only_v @ truth)))
            sensitive.append((f"{name}: in v{w}, not v{v}", only_w, int(only_w @ truth)))
    return view.successes(sensitive)


@settings(max_examples=250, **SETTINGS)
@given(variant_counts(), policies())
def test_no_small_count_of_related_variants_can_be_narrowed(data, policy):
    assert attack_variants(data, policy) == []


def _sweep_pair() -> VariantCounts:
    """An age bound moved by one year: 3 more persons, everything else large."""
    variants = (Variant("age <= 75", ("age",), ("include",)), Variant("age <= 76", ("age",), ("include",)))
    return VariantCounts(variants, (((1, 1), 500), ((0, 1), 3), ((0, 0), 400)))


def test_two_variants_protected_one_by_one_reveal_their_small_difference():
    """The attack has teeth: each variant released alone shows 500 and 503, so 3 people differ."""
    data = _sweep_pair()
    policy = DisclosurePolicy()
    for v in range(2):
        alone = VariantCounts((data.variants[v],), tuple(((masks[v],), n) for masks, n in data.rows))
        shown = protect_variants(alone, policy, fingerprints=(), database={}).to_dict()
        assert shown["variants"][0]["final"]["display"] == ("500" if v == 0 else "503")
    released = protect_variants(data, policy, fingerprints=(), database={}).to_dict()
    finals = [v["final"]["display"] for v in released["variants"]]
    assert "<10" in finals or ">=10" in finals, finals
    assert attack_variants(data, policy) == []


def test_without_the_counts_of_differences_the_attack_computes_them(monkeypatch):
    """The pair counts are what protects a difference: without them the 3 persons are exposed."""
    import cohortql.protect.variants as variants

    monkeypatch.setattr(variants, "_pairs", lambda *args: None)
    found = attack_variants(_sweep_pair(), DisclosurePolicy())
    assert any(f.startswith("final: in v1, not v0 = 3: numbers alone give [3, 3]") for f in found), found
