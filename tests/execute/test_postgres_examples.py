"""PostgreSQL gives the same raw answers as DuckDB: every example and every tiny-fixture case.

The CDMs are loaded into the scratch database with `cohortql load`'s loader, so these tests
also pin that a loaded warehouse answers exactly like its source. Raw rows are compared
(rule mask, strata, persons, entries), before any protection, with every breakdown on.
"""

from __future__ import annotations

import pytest

from cohortql import pipeline
from cohortql.execute.runner import run_cohort, run_concept_report
from cohortql.fixtures import ddl_statements, tiny
from cohortql.omop import BREAKDOWNS
from cohortql.protect.protector import attrition_counts
from cohortql.render import render
from tests.conftest import EXAMPLES, REPO


def _raw_rows(compiled, target, strata):
    rendered = render(compiled.plan, target.cdm_schema, target.vocab_schema, strata=strata)
    return sorted(run_cohort(rendered, target).rows, key=repr)


def _compile(path):
    return pipeline.compile_source(pipeline.read_source(path.relative_to(REPO)))


@pytest.mark.parametrize("strata", ["plan", "all"])
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_on_eunomia_same_as_duckdb(example, strata, postgres_eunomia, eunomia_target):
    compiled = _compile(example)
    strata = compiled.plan.breakdown if strata == "plan" else BREAKDOWNS
    expected = _raw_rows(compiled, eunomia_target, strata)
    assert _raw_rows(compiled, postgres_eunomia, strata) == expected
    if example.stem < "q7":  # Q1-Q6 find people in Eunomia; Q7-Q9 need synthetic data
        assert expected


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_concept_report_on_eunomia_same_as_duckdb(example, postgres_eunomia, eunomia_target):
    compiled = _compile(example)
    duck = run_concept_report(render(compiled.plan), eunomia_target)
    pg = run_concept_report(render(compiled.plan, "eunomia"), postgres_eunomia)
    assert sorted(pg, key=repr) == sorted(duck, key=repr)


@pytest.mark.parametrize("case", tiny.case_paths(), ids=lambda p: p.stem)
def test_tiny_case_same_as_duckdb_and_by_hand(case, postgres_tiny, tiny_duckdb_target):
    compiled = pipeline.compile_source(pipeline.read_source(case))
    expected = _raw_rows(compiled, tiny_duckdb_target, BREAKDOWNS)
    assert _raw_rows(compiled, postgres_tiny, BREAKDOWNS) == expected
    raw = run_cohort(render(compiled.plan, "tiny"), postgres_tiny)
    assert attrition_counts(raw) == [step["persons"] for step in tiny.expected()[case.stem]["attrition"]]


# -- a random CDM seeded with each example's own concepts --------------------------------------
# Eunomia holds no patient for Q7-Q9 and no care site at all, so these definitions are also run
# on random data drawn from the definition's concepts (with descendants, source codes, units,
# visit types, care sites and locations), loaded into DuckDB and PostgreSQL alike.


def _random_cdm(plan, path, seed: int, persons: int = 300):
    import datetime as dt
    import random

    import duckdb
    import pandas as pd

    from cohortql.execute.loader import cdm_layout
    from cohortql.omop import DOMAINS, GENDER_CONCEPTS, UNIT_CONCEPTS, VISIT_CONCEPTS

    rng = random.Random(seed)
    items = {i.concept_id for c in plan.codesets for i in c.items}
    ancestry = [(i, i) for i in items] + [(i, 2_000_000_000 + i) for i in items]
    pool = sorted(items | {d for _, d in ancestry} | {1, 2, 3})
    codes = [(c.vocabulary, c.pattern.replace("%", "9").replace("_", "1")) for s in plan.codesets for c in s.sources]
    source_ids = {code: 3_000_000_000 + n for n, code in enumerate(codes)}

    def day(start=2005, end=2027):
        return dt.date(start, 1, 1) + dt.timedelta(rng.randrange((dt.date(end, 1, 1) - dt.date(start, 1, 1)).days))

    def maybe(value, p=0.8):
        return value if rng.random() < p else None

    people = [
        {"person_id": p, "gender_concept_id": rng.choice([*GENDER_CONCEPTS.values(), 0]),
         "year_of_birth": rng.randrange(1930, 2012), "race_concept_id": 0, "ethnicity_concept_id": 0,
         "care_site_id": maybe(rng.randrange(1, 4))}
        for p in range(1, persons + 1)
    ]  # fmt: skip
    tables = {
        "person": people,
        "care_site": [{"care_site_id": s, "care_site_name": f"site {s}", "location_id": maybe(10 + s % 2)}
                      for s in (1, 2, 3)],
        "location": [{"location_id": 10, "city": "North"}, {"location_id": 11, "location_source_value": "South"}],
        "concept_ancestor": [{"ancestor_concept_id": a, "descendant_concept_id": d, "min_levels_of_separation": 0,
                              "max_levels_of_separation": 0} for a, d in ancestry],
        "concept": [{"concept_id": cid, "concept_name": f"code {code}", "domain_id": "Condition",
                     "vocabulary_id": vocabulary, "concept_class_id": "x", "concept_code": code,
                     "valid_start_date": dt.date(1970, 1, 1), "valid_end_date": dt.date(2099, 12, 31)}
                    for (vocabulary, code), cid in source_ids.items()],
        "concept_relationship": [{"concept_id_1": cid, "concept_id_2": rng.choice(pool), "relationship_id": "Maps to",
                                  "valid_start_date": dt.date(1970, 1, 1), "valid_end_date": dt.date(2099, 12, 31)}
                                 for cid in source_ids.values()],
        "observation_period": [],
        "visit_occurrence": [],
    }  # fmt: skip
    for person in people:
        start = day(2005, 2020)
        tables["observation_period"].append(
            {"observation_period_id": person["person_id"], "person_id": person["person_id"],
             "observation_period_start_date": start, "period_type_concept_id": 32817,
             "observation_period_end_date": start + dt.timedelta(rng.randrange(30, 6000))}
        )  # fmt: skip
        for _ in range(3):
            start = day()
            tables["visit_occurrence"].append(
                {"visit_occurrence_id": len(tables["visit_occurrence"]) + 1, "person_id": person["person_id"],
                 "visit_concept_id": rng.choice([*VISIT_CONCEPTS.values(), *pool]), "visit_start_date": start,
                 "visit_end_date": start + dt.timedelta(rng.randrange(5)), "visit_type_concept_id": 32817,
                 "care_site_id": maybe(rng.randrange(1, 4))}
            )  # fmt: skip
    focus = {}  # events cluster around a date inside each person's observation period
    for period in tables["observation_period"]:
        length = (period["observation_period_end_date"] - period["observation_period_start_date"]).days
        focus[period["person_id"]] = period["observation_period_start_date"] + dt.timedelta(rng.randrange(length))
    for domain in (d for d in DOMAINS.values() if d.table != "visit_occurrence"):
        rows = tables.setdefault(domain.table, [])
        for n in range(persons * 8 if domain.table != "death" else persons // 5):
            person = rng.choice(people)["person_id"] if domain.table != "death" else n + 1
            start = focus[person] + dt.timedelta(rng.randrange(-400, 400)) if rng.random() < 0.8 else day()
            row = {domain.record_id: n + 1, "person_id": person, domain.concept_id: rng.choice(pool),
                   domain.start_date: start}  # fmt: skip
            if domain.end_date:
                end = start + dt.timedelta(rng.randrange(-2, 400))
                row[domain.end_date] = maybe(end, 0.7) if domain.word in ("condition", "device") else end
            if domain.has_value:
                row |= {"value_as_number": maybe(round(rng.uniform(0, rng.choice([15, 200])), 1)),
                        "value_as_concept_id": maybe(rng.choice(pool)),
                        "unit_concept_id": maybe(rng.choice(list(UNIT_CONCEPTS.values())))}  # fmt: skip
            if domain.has_days_supply:
                row["days_supply"] = maybe(rng.randrange(1, 120))
            if domain.has_visit:
                row["visit_occurrence_id"] = maybe(rng.randrange(1, len(tables["visit_occurrence"]) + 1))
            rows.append(row)
    con = duckdb.connect(str(path))
    for statement in ddl_statements():
        con.execute(statement)
    for table, layout in cdm_layout().items():
        frame = pd.DataFrame(tables.get(table, []), columns=[name for name, _ in layout])
        for name in frame.columns:
            if name.endswith("_type_concept_id"):
                frame[name] = 32817  # EHR
        con.register("frame", frame)
        casts = ", ".join(f"CAST({name} AS {kind})" for name, kind in layout)
        con.execute(f"INSERT INTO {table} SELECT {casts} FROM frame")
        con.unregister("frame")
    con.close()
    return path


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_on_random_cdm_same_as_duckdb(example, postgres_database, tmp_path):
    from cohortql.execute.loader import load
    from cohortql.execute.target import resolve_target

    compiled = _compile(example)
    path = _random_cdm(compiled.plan, tmp_path / "random.duckdb", seed=sum(map(ord, example.stem)))
    schema = f"random_{example.stem[:2]}"
    load(str(path), postgres_database, schema, replace=True)
    duck, pg = resolve_target(f"duckdb:///{path}"), resolve_target(postgres_database, schema)
    expected = _raw_rows(compiled, duck, BREAKDOWNS)
    assert _raw_rows(compiled, pg, BREAKDOWNS) == expected
    assert len({row[0] for row in expected}) >= 3  # persons with several different rule outcomes
