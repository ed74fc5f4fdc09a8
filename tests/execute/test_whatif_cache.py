"""The what-if cache gives the one pass's RawCounts exactly, recomputes only what changed, never
serves stale data, and survives corruption, eviction, a full disk and two processes at once.

The reference is always a cold one-pass count (`run_cohort`) of the same definition on the same
data: on every example and tiny-fixture case, on random edits of them (hypothesis), on the tiny
fixture, Eunomia and PostgreSQL.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import sys
import warnings

import duckdb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohortql import pipeline
from cohortql.diagnostics import CohortQLError, Source
from cohortql.execute.runner import run_cohort, run_site_catalogue
from cohortql.execute.target import resolve_target
from cohortql.render import render
from cohortql.render.strata import strata_for
from cohortql.whatif import variants as edit
from cohortql.whatif.engine import CachedCounter
from cohortql.whatif.store import CacheWarning, VectorCache
from tests.conftest import EXAMPLES, REPO

TINY_CASES = REPO / "cohortql" / "fixtures" / "tiny" / "cases"
CASES = sorted(TINY_CASES.glob("*.cohort"))
STRATA = [(), ("site", "age10"), ("site_group", "year")]


def cold(source: Source, target, dimensions=()):
    plan = pipeline.compile_source(source).plan
    rendered = render(plan, target.cdm_schema, target.vocab_schema, strata_for(dimensions))
    raw = run_cohort(rendered, target)
    return raw, (run_site_catalogue(rendered, target) if "site" in raw.strata else [])


def cached(source: Source, counter: CachedCounter, dimensions=()):
    return counter.counts(pipeline.compile_source(source).plan, strata_for(dimensions))


def read(path) -> Source:
    return pipeline.read_source(path)


@pytest.fixture(scope="module")
def tiny(tiny_duckdb_target):
    return tiny_duckdb_target


@pytest.mark.parametrize("path", CASES + EXAMPLES, ids=lambda p: p.stem)
def test_cached_counts_are_the_one_pass_counts_on_the_tiny_fixture(path, tiny, tmp_path):
    cache = VectorCache(tmp_path)
    for dimensions in STRATA[:2] if path in EXAMPLES else STRATA:
        expected = cold(read(path), tiny, dimensions)
        first = CachedCounter(tiny, cache)
        assert cached(read(path), first, dimensions) == expected  # computed and stored
        again = CachedCounter(tiny, cache)
        assert cached(read(path), again, dimensions) == expected  # read back
        assert again.computed_tests == 0 and again.statements == 1  # the data version only


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_cached_counts_are_the_one_pass_counts_on_eunomia(path, eunomia_target, tmp_path):
    cache = VectorCache(tmp_path)
    for dimensions in [(), ("site", "age10")]:
        expected = cold(read(path), eunomia_target, dimensions)
        assert cached(read(path), CachedCounter(eunomia_target, cache), dimensions) == expected
        assert cached(read(path), CachedCounter(eunomia_target, cache), dimensions) == expected


def test_the_protected_result_through_the_cache_is_the_one_pass_result(eunomia_target, tmp_path):
    compiled = pipeline.compile_source(read(EXAMPLES[0]))
    counter = CachedCounter(eunomia_target, VectorCache(tmp_path))
    for _ in range(2):
        via_cache = pipeline.run(compiled, eunomia_target, by=("sex", "age10"), cache=counter)
        assert via_cache == pipeline.run(compiled, eunomia_target, by=("sex", "age10"))


# ---- random edits ------------------------------------------------------------------------

EDITABLE = [path for path in CASES + EXAMPLES if edit.rules_of(read(path))]


def _apply(source: Source, choice: tuple) -> Source:
    """One edit a designer makes; returns the source unchanged when it does not apply."""
    kind, pick, value = choice
    rules = list(edit.rules_of(source))
    if not rules:
        return source
    name = rules[pick % len(rules)]
    found = edit.rules_of(source)[name]
    if kind == "drop":
        return edit.drop_rule(source, name)
    if kind == "flip":
        flipped = "exclude" if found.rule.kind == "include" else "include"
        text = source.text[: found.start] + flipped + source.text[found.start + len(found.rule.kind):]
        return Source(source.name, text)
    if kind == "rename":
        head = source.text[found.start:found.criterion_start].replace(f'"{name}"', f'"{name} renamed {value}"')
        return Source(source.name, source.text[: found.start] + head + source.text[found.criterion_start:])
    if kind == "swap" and len(rules) > 1:
        other = edit.rules_of(source)[rules[(pick + 1) % len(rules)]]
        first, second = sorted([found, other], key=lambda r: r.start)
        text = source.text
        return Source(source.name, text[: first.start] + text[second.start:second.end] + text[first.end:second.start]
                      + text[first.start:first.end] + text[second.end:])
    if kind == "vary":
        numbers = edit.numbers_in_rule(source, name)
        if numbers:
            number = numbers[value % len(numbers)]
            new = max(0, int(number.value) + (value % 7) - 3)
            return edit.vary_number(source, number, edit.parse_range(str(new))[0])
    return source


edits = st.tuples(st.sampled_from(["drop", "flip", "rename", "swap", "vary"]), st.integers(0, 20), st.integers(0, 50))


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return VectorCache(tmp_path_factory.mktemp("whatif-shared"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(st.sampled_from(EDITABLE), st.lists(edits, min_size=1, max_size=3), st.sampled_from(STRATA[:2]))
def test_random_edits_count_the_same_through_the_cache(tiny, shared_cache, path, choices, dimensions):
    source = read(path)
    for choice in choices:
        source = _apply(source, choice)
    try:
        expected = cold(source, tiny, dimensions)
    except CohortQLError:  # an edit can make a definition invalid (e.g. a window start after its end)
        return
    assert cached(source, CachedCounter(tiny, shared_cache), dimensions) == expected


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(st.sampled_from(EXAMPLES), st.lists(edits, min_size=1, max_size=2))
def test_random_edits_count_the_same_through_the_cache_on_eunomia(eunomia_target, shared_cache, path, choices):
    source = read(path)
    for choice in choices:
        source = _apply(source, choice)
    try:
        expected = cold(source, eunomia_target, ("sex",))
    except CohortQLError:
        return
    assert cached(source, CachedCounter(eunomia_target, shared_cache), ("sex",)) == expected


# ---- what is recomputed ------------------------------------------------------------------

Q7 = REPO / "examples" / "q7_type2_diabetes_trial.cohort"


def test_a_changed_rule_recomputes_that_rule_alone(tiny, tmp_path):
    cache = VectorCache(tmp_path)
    source = read(Q7)
    cached(source, CachedCounter(tiny, cache))
    changed = edit.set_rule(source, "on metformin", "at least 2 drug Metformin within 365 days before index")
    counter = CachedCounter(tiny, cache)
    assert cached(changed, counter) == cold(changed, tiny)
    assert counter.computed_tests == 1


@pytest.mark.parametrize("change", ["reorder", "rename", "flip", "rename concept set"])
def test_reordering_renaming_or_flipping_rules_recomputes_nothing(tiny, tmp_path, change):
    cache = VectorCache(tmp_path)
    source = read(Q7)
    cached(source, CachedCounter(tiny, cache))
    rules = edit.rules_of(source)
    if change == "reorder":
        changed = _apply(source, ("swap", 0, 0))
    elif change == "rename":
        changed = Source(source.name, source.text.replace('"insulin"', '"no insulin in the last 6 months"'))
    elif change == "rename concept set":
        changed = Source(source.name, re.sub(r"\bMetformin\b", "Biguanide", source.text))
    else:
        start = rules["insulin"].start
        changed = Source(source.name, source.text[:start] + "include" + source.text[start + len("exclude"):])
    assert changed.text != source.text
    counter = CachedCounter(tiny, cache)
    assert cached(changed, counter) == cold(changed, tiny)
    assert counter.computed_tests == 0 and counter.statements == 1


# ---- stale data --------------------------------------------------------------------------


def _copy(tiny, directory):
    path = directory / "tiny.duckdb"
    shutil.copy(tiny.database_file, path)
    return path, resolve_target(f"duckdb:///{path}")


def test_a_changed_table_is_never_served_from_the_cache(tiny, tmp_path):
    path, target = _copy(tiny, tmp_path)
    cache = VectorCache(tmp_path / "cache")
    source = read(TINY_CASES / "01_within_days_before.cohort")
    before = cached(source, CachedCounter(target, cache))
    assert before == cold(source, target)
    with duckdb.connect(str(path)) as con:  # every drug exposure gone: the drug rules fail for everyone
        con.execute("DELETE FROM drug_exposure")
    after_cold = cold(source, target)
    assert after_cold != before
    counter = CachedCounter(target, cache)
    assert cached(source, counter) == after_cold
    assert counter.computed_tests > 0


def test_an_update_in_place_is_caught_on_duckdb(tiny, tmp_path):
    """Row counts and largest ids do not change; the file's size or time does."""
    path, target = _copy(tiny, tmp_path)
    cache = VectorCache(tmp_path / "cache")
    source = read(Q7)
    before = cached(source, CachedCounter(target, cache))
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE person SET year_of_birth = year_of_birth - 40")
    expected = cold(source, target)
    assert expected != before
    assert cached(source, CachedCounter(target, cache)) == expected


# ---- faults ------------------------------------------------------------------------------


def _files(cache: VectorCache):
    return sorted(cache.directory.glob("*.cqv"))


def test_a_corrupted_cache_file_is_rebuilt_with_a_warning(tiny, tmp_path):
    cache = VectorCache(tmp_path)
    source = read(Q7)
    expected = cached(source, CachedCounter(tiny, cache))
    victim = _files(cache)[0]
    victim.write_bytes(b"not a cache file at all")
    with pytest.warns(CacheWarning, match="corrupted or not a cohortql cache file"):
        assert cached(source, CachedCounter(tiny, cache)) == expected
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        assert cached(source, CachedCounter(tiny, cache)) == expected  # rebuilt: no warning now


def test_a_foreign_cache_file_is_not_trusted(tiny, tmp_path):
    """A well-formed file under another file's name (copied, or another key) is a miss."""
    cache = VectorCache(tmp_path)
    source = read(Q7)
    expected = cached(source, CachedCounter(tiny, cache))
    first, second = _files(cache)[:2]
    shutil.copy(first, second)
    with pytest.warns(CacheWarning):
        assert cached(source, CachedCounter(tiny, cache)) == expected


def test_a_full_disk_costs_the_speed_up_only(tiny, tmp_path, monkeypatch):
    import tempfile

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    cache = VectorCache(tmp_path)
    source = read(Q7)
    with pytest.warns(CacheWarning, match="the disk is full"):
        assert cached(source, CachedCounter(tiny, cache)) == cold(source, tiny)
    assert _files(cache) == []


def test_least_recently_used_files_are_evicted_to_the_bound(tmp_path):
    cache = VectorCache(tmp_path, max_bytes=10**9)
    for index in range(5):
        cache.put(f"{index:064x}", {"bits": np.zeros(1000, dtype=np.uint8)})
        os.utime(cache._path(f"{index:064x}"), (1000 + index, 1000 + index))
    assert cache.get(f"{0:064x}") is not None  # used now: the newest
    size = cache._path(f"{0:064x}").stat().st_size
    cache.max_bytes = 3 * size
    cache.put(f"{9:064x}", {"bits": np.zeros(1000, dtype=np.uint8)})
    left = {path.stem for path in _files(cache)}
    assert left == {f"{0:064x}", f"{4:064x}", f"{9:064x}"}
    assert cache.info().files == 3 and cache.info().bytes <= cache.max_bytes
    assert cache.clear() == 3 and cache.info().files == 0


_CHILD = """
import sys
from cohortql import pipeline
from cohortql.execute.target import resolve_target
from cohortql.whatif.engine import CachedCounter
from cohortql.whatif.store import VectorCache
target = resolve_target(sys.argv[1])
counter = CachedCounter(target, VectorCache(sys.argv[2], max_bytes=int(sys.argv[3])))
for path in sys.argv[4:]:
    raw, _ = counter.counts(pipeline.compile_source(pipeline.read_source(path)).plan, ("site",))
    print(path, sum(row[2] for row in raw.rows if row[0] == (1 << len(raw.rule_names)) - 1))
"""


def test_two_processes_share_one_cache(tiny, tmp_path):
    paths = [str(p) for p in EXAMPLES]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-c", _CHILD, tiny.url, str(tmp_path), str(20_000)]
    children = [subprocess.Popen([*argv, *order], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
                for order in (paths, paths[::-1])]
    outputs = [child.communicate(timeout=300) for child in children]
    assert [child.returncode for child in children] == [0, 0], [err for _, err in outputs]
    finals = [sorted(out.splitlines()) for out, _ in outputs]
    assert finals[0] == finals[1]
    expected = []
    for path in sorted(paths):
        raw, _ = cold(read(path), tiny, ("site",))
        expected.append(f"{path} {sum(r[2] for r in raw.rows if r[0] == (1 << len(raw.rule_names)) - 1)}")
    assert finals[0] == expected
    assert not list(tmp_path.glob(".tmp-*"))  # every write renamed into place or removed
    assert VectorCache(tmp_path).info().bytes <= 20_000 + 4096  # the bound, give or take the last file


# ---- PostgreSQL --------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES[:3] + CASES[:6], ids=lambda p: p.stem)
def test_cached_counts_are_the_one_pass_counts_on_postgres(path, postgres_tiny, tmp_path):
    cache = VectorCache(tmp_path)
    for dimensions in [(), ("site", "age10")]:
        expected = cold(read(path), postgres_tiny, dimensions)
        assert cached(read(path), CachedCounter(postgres_tiny, cache), dimensions) == expected
        assert cached(read(path), CachedCounter(postgres_tiny, cache), dimensions) == expected


@pytest.fixture(scope="module")
def postgres_changing(postgres_database, tiny_duckdb_target):
    """A copy of the tiny CDM of this module's own, in schema `whatif_changing`, that tests change."""
    from tests.conftest import _load_into_postgres

    return _load_into_postgres(tiny_duckdb_target.database_file, postgres_database, "whatif_changing")


def _on_postgres(target, *statements):
    import sqlalchemy as sa

    engine = sa.create_engine(target.url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql("SELECT pg_stat_force_next_flush()")  # the counters, at commit
    engine.dispose()


def test_a_changed_table_is_never_served_from_the_cache_on_postgres(postgres_changing, tmp_path):
    cache = VectorCache(tmp_path)
    source = read(TINY_CASES / "01_within_days_before.cohort")
    before = cached(source, CachedCounter(postgres_changing, cache))
    warm = CachedCounter(postgres_changing, cache)
    assert cached(source, warm) == before and warm.computed_tests == 0
    _on_postgres(postgres_changing, "DELETE FROM whatif_changing.drug_exposure")
    expected = cold(source, postgres_changing)
    assert expected != before
    counter = CachedCounter(postgres_changing, cache)
    assert cached(source, counter) == expected and counter.computed_tests > 0


def test_views_have_no_cheap_version_and_are_always_recomputed(postgres_changing, tmp_path):
    _on_postgres(
        postgres_changing,
        "CREATE SCHEMA IF NOT EXISTS whatif_views",
        "DO $$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'whatif_changing'"
        " LOOP EXECUTE format('CREATE OR REPLACE VIEW whatif_views.%%I AS SELECT * FROM whatif_changing.%%I', t, t);"
        " END LOOP; END $$",
    )
    target = resolve_target(postgres_changing.url, "whatif_views")
    source = read(TINY_CASES / "02_from_to_window.cohort")
    cache = VectorCache(tmp_path)
    first = cached(source, CachedCounter(target, cache))
    again = CachedCounter(target, cache)
    assert cached(source, again) == first == cold(source, target)
    assert again.computed_tests > 0
