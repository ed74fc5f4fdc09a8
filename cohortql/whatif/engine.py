"""Counting through the what-if cache: each vector computed once, on any engine, never stale.

A count asks the database only for a cheap data version of the tables the definition reads
(`versions.py`), then loads every vector whose key is known, and computes what is missing in one split
statement per entry definition (sql_templates/split.sql.j2). Only SELECTs run on the target
(`run_statement`, the execute stage's seam); the vectors live on the client, in `VectorCache`.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cohortql.counts import RawCounts
from cohortql.execute.runner import engine_for, run_site_catalogue, run_statement
from cohortql.execute.target import Target
from cohortql.render import RenderedCohort, SqlStatement, render, render_split
from cohortql.resolve import plan as p
from cohortql.whatif import keys
from cohortql.whatif.store import CacheWarning, VectorCache
from cohortql.whatif.vectors import Entries, Stratum, raw_counts
from cohortql.whatif.versions import data_versions


class CacheConsistencyError(RuntimeError):
    """Cached vectors that do not line up with the entries: never used, recomputed instead."""


@dataclass(frozen=True)
class PlanVectors:
    """Everything a definition's RawCounts are computed from, for one set of strata."""

    plan: p.Plan
    entries: Entries
    tests: tuple[np.ndarray, ...]  # one boolean vector per rule, in the plan's order
    strata: dict[str, Stratum]

    def raw(self, nulls_first: bool = False) -> RawCounts:
        plan = self.plan
        return raw_counts(
            tuple(rule.name for rule in plan.rules),
            tuple(rule.kind for rule in plan.rules),
            self.entries,
            list(self.tests),
            self.strata,
            nulls_first,
        )


def _cdm_identity(target: Target) -> dict:
    identity = dict(target.to_dict())
    if engine_for(target).settings.local_file and target.database_file:
        # Any write to a DuckDB file changes its size or time: an UPDATE in place is caught too.
        path = Path(target.database_file)
        for file in (path, path.with_name(path.name + ".wal")):
            if file.exists():
                stat = file.stat()
                identity[f"file {file.name}"] = [stat.st_size, stat.st_mtime_ns]
    return identity


def _bits(vector: np.ndarray) -> dict[str, np.ndarray]:
    return {"bits": np.packbits(vector), "n": np.array([len(vector)], dtype=np.int64)}


def _unbits(arrays: dict[str, np.ndarray], n: int) -> np.ndarray | None:
    if "bits" not in arrays or "n" not in arrays or int(arrays["n"][0]) != n:
        return None
    return np.unpackbits(arrays["bits"], count=n).astype(bool)


def _json_array(value) -> np.ndarray:
    return np.frombuffer(json.dumps(value).encode("utf-8"), dtype=np.uint8)


def _from_json_array(array: np.ndarray):
    return json.loads(array.tobytes().decode("utf-8"))


class CachedCounter:
    """RawCounts of definitions on one target, through a vector cache."""

    def __init__(self, target: Target, cache: VectorCache):
        self.target = target
        self.cache = cache
        self.statements = 0  # database statements run, for tests and benchmarks
        self.computed_tests = 0  # rule tests computed by the database rather than read from the cache

    def _run(self, rendered: RenderedCohort, statement: SqlStatement) -> list[tuple]:
        self.statements += 1
        return run_statement(rendered, self.target, statement)

    def _versions(self, plans: list[p.Plan], strata: tuple[str, ...], rendered: RenderedCohort) -> dict:
        tables: dict[str, None] = {}
        for plan in plans:
            tables.update(dict.fromkeys(keys.entry_tables(plan)))
            for rule in plan.rules:
                tables.update(dict.fromkeys(keys.test_tables(plan, rule.test)))
            for name in strata:
                tables.update(dict.fromkeys(keys.stratum_tables(plan, name)))
        if "site" in strata:
            tables.update(dict.fromkeys(keys.CATALOGUE_TABLES))
        return data_versions(tuple(tables), self.target, lambda statement: self._run(rendered, statement))

    def counts(self, plan: p.Plan, strata: tuple[str, ...] = ()) -> tuple[RawCounts, list[tuple]]:
        """RawCounts and the site catalogue (empty unless `site` is a stratum), as the one pass gives."""
        (vectors,), catalogue = self.vectors([plan], strata)
        return vectors.raw(engine_for(self.target).settings.nulls_first), catalogue

    def vectors(self, plans: list[p.Plan], strata: tuple[str, ...] = ()) -> tuple[list[PlanVectors], list[tuple]]:
        """Vectors of several definitions (variants of one question), one data version for all.

        Definitions with the same entry and concept sets share one split statement for every
        test any of them is missing (a sweep of ten values is one statement, not ten)."""
        rendered = render(plans[0], self.target.cdm_schema, self.target.vocab_schema, strata)
        versions = self._versions(plans, strata, rendered)
        identity = _cdm_identity(self.target)
        makers = [keys.KeyMaker(plan, identity, versions) for plan in plans]
        groups: dict[tuple, list[int]] = {}
        for index, (plan, maker) in enumerate(zip(plans, makers, strict=True)):
            groups.setdefault((maker.entries(), plan.codesets), []).append(index)
        found: dict[int, PlanVectors] = {}
        for members in groups.values():
            group = [plans[i] for i in members], [makers[i] for i in members]
            found.update(self._group_vectors(*group, members, strata))
        catalogue = self._catalogue(rendered, makers[0]) if "site" in strata else []
        return [found[i] for i in range(len(plans))], catalogue

    def _catalogue(self, rendered: RenderedCohort, maker: keys.KeyMaker) -> list[tuple]:
        key = maker.catalogue()
        cached = self.cache.get(key)
        if cached is not None and "rows" in cached:
            return [tuple(row) for row in _from_json_array(cached["rows"])]
        rows = run_site_catalogue(rendered, self.target)
        self.statements += 1
        self.cache.put(key, {"rows": _json_array([list(row) for row in rows])})
        return rows

    def _group_vectors(
        self, plans: list[p.Plan], makers: list[keys.KeyMaker], indices: list[int], strata: tuple[str, ...]
    ) -> dict[int, PlanVectors]:
        entries_key = makers[0].entries()
        entries = self._load_entries(entries_key)
        tests: dict[str, p.Test] = {}
        for plan, maker in zip(plans, makers, strict=True):
            tests.update({maker.test(rule.test): rule.test for rule in plan.rules})
        vectors = {key: self._load_test(key, entries) for key in tests}
        stratum_keys = {name: makers[0].stratum(name) for name in strata}
        loaded_strata = {name: self._load_stratum(key, entries) for name, key in stratum_keys.items()}
        missing = [key for key, vector in vectors.items() if vector is None]
        missing_strata = tuple(name for name, stratum in loaded_strata.items() if stratum is None)
        if entries is None or missing or missing_strata:
            try:
                computed = self._compute(plans[0], tuple(tests[k] for k in missing), missing_strata, entries)
            except CacheConsistencyError as error:
                warnings.warn(f"what-if cache: {error}; every vector of this definition recomputed", CacheWarning, 2)
                missing, missing_strata, entries = list(tests), tuple(strata), None
                computed = self._compute(plans[0], tuple(tests[k] for k in missing), missing_strata, None)
            if entries is None:
                fresh = computed[0]
                arrays = {"ids": fresh.person_ids, "starts": fresh.person_starts, "n": np.array([fresh.count])}
                self.cache.put(entries_key, arrays)
            entries, new_tests, new_strata = computed
            for key, vector in zip(missing, new_tests, strict=True):
                vectors[key] = vector
                self.cache.put(key, _bits(vector))
            for name, stratum in new_strata.items():
                loaded_strata[name] = stratum
                arrays = {"codes": stratum.codes, "values": _json_array(list(stratum.values))}
                self.cache.put(stratum_keys[name], arrays)
        return {
            index: PlanVectors(
                plan, entries, tuple(vectors[maker.test(rule.test)] for rule in plan.rules),
                {name: loaded_strata[name] for name in strata},
            )
            for index, plan, maker in zip(indices, plans, makers, strict=True)
        }

    def _load_entries(self, key: str) -> Entries | None:
        arrays = self.cache.get(key)
        if arrays is None or any(name not in arrays for name in ("ids", "starts", "n")):
            return None
        return Entries(int(arrays["n"][0]), arrays["ids"].astype(np.int64), arrays["starts"].astype(np.int64))

    def _load_test(self, key: str, entries: Entries | None) -> np.ndarray | None:
        arrays = self.cache.get(key) if entries is not None else None
        return None if arrays is None else _unbits(arrays, entries.count)

    def _load_stratum(self, key: str, entries: Entries | None) -> Stratum | None:
        arrays = self.cache.get(key) if entries is not None else None
        if arrays is None or "codes" not in arrays or len(arrays.get("codes", ())) != entries.count:
            return None
        return Stratum(arrays["codes"].astype(np.int32), tuple(_from_json_array(arrays["values"])))

    def _compute(
        self, plan: p.Plan, tests: tuple[p.Test, ...], strata: tuple[str, ...], known: Entries | None
    ) -> tuple[Entries, list[np.ndarray], dict[str, Stratum]]:
        """One split statement: the entries, the missing tests and strata, checked against what is cached."""
        rendered = render(plan, self.target.cdm_schema, self.target.vocab_schema, strata)
        rows = self._run(rendered, render_split(plan, tests, self.target.cdm_schema, strata))
        self.computed_tests += len(tests)
        n = len(rows)
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in range(2 + len(strata) + len(tests))]
        entry_ids = np.asarray(columns[0], dtype=np.int64)
        if not np.array_equal(entry_ids, np.arange(1, n + 1)):
            raise CacheConsistencyError("entry events are not numbered 1..n")
        person = np.asarray(columns[1], dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, person[1:] != person[:-1]]) if n else np.zeros(0, dtype=np.int64)
        entries = Entries(n, person[starts], starts.astype(np.int64))
        if known is not None and (known.count != n or not np.array_equal(known.person_ids, entries.person_ids)):
            raise CacheConsistencyError("cached entries differ from the database's")
        computed_strata = {}
        for offset, name in enumerate(strata, start=2):
            index: dict = {}
            codes = np.fromiter((index.setdefault(v, len(index)) for v in columns[offset]), dtype=np.int32, count=n)
            computed_strata[name] = Stratum(codes, tuple(index))
        first_test = 2 + len(strata)
        vectors = [np.asarray(columns[first_test + j], dtype=np.int8).astype(bool) for j in range(len(tests))]
        return entries, vectors, computed_strata


def cached_counter(target: Target, cache_dir: str | os.PathLike | None = None) -> CachedCounter:
    return CachedCounter(target, VectorCache(cache_dir))
