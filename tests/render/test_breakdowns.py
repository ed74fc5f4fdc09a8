"""Breakdowns: the final cohort by site, site group, sex, age band and year, from the same pass.

Tiny-fixture tables are worked out by hand from cohortql/fixtures/tiny (person.csv: sex, year of
birth, care site; no record there is linked to a visit, so each site is the person's own) and
the final cohorts named in cohortql/fixtures/tiny/EXPECTED.md.
"""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from typer.testing import CliRunner

from cohortql import pipeline
from cohortql.cli import app
from cohortql.execute.errors import DatabaseError
from cohortql.execute.runner import run_cohort, run_site_catalogue
from cohortql.execute.target import resolve_target
from cohortql.fixtures import tiny
from cohortql.fixtures.synthetic import generate
from cohortql.omop import DOMAINS
from cohortql.protect import DisclosurePolicy
from cohortql.render import render
from tests.conftest import REPO

NO_SUPPRESSION = DisclosurePolicy(threshold=1)
CASES = {path.stem: path for path in tiny.case_paths()}


@pytest.fixture(scope="module")
def tiny_target(tmp_path_factory):
    return resolve_target(f"duckdb:///{tiny.build_duckdb(tmp_path_factory.mktemp('tiny') / 'tiny.duckdb')}")


def _cells(result) -> dict:
    """{(label, ...): value} for interior cells and margins of the one table (None = total)."""
    (table,) = result.breakdowns
    return {tuple(c[1] if c else None for c in cell.coords): cell.count.value for cell in table.cells}


def _run(case: str, target, by, policy=NO_SUPPRESSION):
    return pipeline.run(pipeline.compile_source(pipeline.read_source(CASES[case])), target, policy, by=by)


def test_two_way_site_by_sex_with_margins(tiny_target):
    # 11_source_codes: final persons 24 (male, site B), 25 (female, site A), 26 (male, site B).
    cells = _cells(_run("11_source_codes", tiny_target, ("site", "sex")))
    assert cells[("Tiny site A", "female")] == 1
    assert cells[("Tiny site A", "male")] == 0
    assert cells[("Tiny site B", "female")] == 0
    assert cells[("Tiny site B", "male")] == 2
    assert cells[("Tiny site A", None)] == 1 and cells[("Tiny site B", None)] == 2
    assert cells[(None, "female")] == 1 and cells[(None, "male")] == 2
    assert cells[(None, None)] == 3
    # The tiny CDM records no locations: both sites fall in the unknown group, with its subtotal.
    assert cells[(None, "female")] == cells[(None, "female")]
    assert {key for key in cells if key[0] is None} >= {(None, "female"), (None, "male"), (None, None)}


def test_age_bands_use_year_of_birth(tiny_target):
    # 14_age_year_of_birth: final persons 35 and 36, both born in 1970, indexed 2020-06-01: age 50.
    # Person 37 (born 1971, age 49) entered but failed: band 45-49 is a row of its own, empty.
    assert _cells(_run("14_age_year_of_birth", tiny_target, ("age5",))) == {(45,): 0, (50,): 2, (None,): 2}
    cells = _cells(_run("14_age_year_of_birth", tiny_target, ("age10", "sex")))
    assert cells[(50, "female")] == 1 and cells[(50, "male")] == 1  # person 35 female, 36 male


def test_year_of_index_and_unknown_site_group(tiny_target):
    # 15_sex_and_index_date: final persons 13 (2020-01-01) and 17 (2020-12-31), both at site A;
    # persons 15 (2019-12-31) and 16 (2021-01-01) entered and failed: their years are empty rows.
    expected = {(2019,): 0, (2020,): 2, (2021,): 0, (None,): 2}
    assert _cells(_run("15_sex_and_index_date", tiny_target, ("year",))) == expected
    assert _cells(_run("15_sex_and_index_date", tiny_target, ("site_group",))) == {(None,): 2}


def test_definition_default_breakdown_and_override(eunomia_target):
    compiled = pipeline.compile_source(pipeline.read_source(REPO / "examples/q7_type2_diabetes_trial.cohort"))
    assert compiled.plan.breakdown == ("site", "age10")
    by_default = pipeline.run(compiled, eunomia_target)
    assert by_default.breakdowns[0].strata == ("site", "age10")
    overridden = pipeline.run(compiled, eunomia_target, by=("sex",))
    assert overridden.breakdowns[0].strata == ("sex",)
    assert pipeline.run(compiled, eunomia_target, by=()).breakdowns == ()


def test_breakdowns_add_no_scan_of_event_tables():
    compiled = pipeline.compile_source(pipeline.read_source(REPO / "examples/q8_heart_failure.cohort"))
    plain = render(compiled.plan).cohort.sql
    split = render(compiled.plan, strata=("site", "site_group", "sex", "age10", "year")).cohort.sql
    for domain in DOMAINS.values():
        pattern = rf"\b{domain.table}\b"
        if domain.table != "visit_occurrence":  # the index visit's care site is one lookup by key
            assert len(re.findall(pattern, split)) == len(re.findall(pattern, plain)), domain.table


def test_the_site_catalogue_builds_no_concept_sets(tmp_path):
    """The list of sites reads care_site and location only: it runs without any vocabulary table,
    where the cohort query (which needs the concept sets) cannot."""
    path = tiny.build_duckdb(tmp_path / "no-vocabulary.duckdb")
    with duckdb.connect(str(path)) as con:
        for table in ("concept_ancestor", "concept_relationship", "concept"):
            con.execute(f"DROP TABLE {table}")
    target = resolve_target(f"duckdb:///{path}")
    rendered = render(pipeline.compile_source(pipeline.read_source(CASES["01_within_days_before"])).plan)
    assert [site for site, _ in run_site_catalogue(rendered, target)] == ["Tiny site A", "Tiny site B"]
    with pytest.raises(DatabaseError, match="concept"):
        run_cohort(rendered, target)


@pytest.fixture(scope="module")
def synthetic_target(tmp_path_factory):
    path = generate(tmp_path_factory.mktemp("synthetic") / "sites.duckdb", 20_000, seed=11)
    return resolve_target(f"duckdb:///{path}")


def test_protected_site_tables_add_up(synthetic_target):
    """Q7 by site and age band on multi-site data: visible cells, margins and group totals agree."""
    compiled = pipeline.compile_source(pipeline.read_source(REPO / "examples/q7_type2_diabetes_trial.cohort"))
    result = pipeline.run(compiled, synthetic_target, by=("site", "age10"))
    (table,) = result.breakdowns
    cells = {cell.coords: cell.count for cell in table.cells}
    threshold = result.policy.threshold
    assert all(c.value is None or c.value == 0 or c.value >= threshold for c in cells.values())
    grand = cells[(None, None)]
    assert grand.value == result.final.value
    groups = {coords[0] for coords in cells if coords[0] and coords[0][0] == "site_group"}
    assert len(groups) >= 2, "the synthetic health system has several hospital groups"
    sites = [coords[0] for coords in cells if coords[0] and coords[0][0] == "site" and coords[1] is None]
    assert len(sites) >= 6
    # Every visible row: cells add up to the row total when all are visible, never exceed it otherwise.
    rows = {coords[0] for coords in cells}
    for row in rows:
        members = [c for coords, c in cells.items() if coords[0] == row and coords[1] is not None]
        total = cells[(row, None)]
        visible = [c.value for c in members if c.value is not None]
        if total.value is not None:
            assert sum(visible) <= total.value
            if len(visible) == len(members):
                assert sum(visible) == total.value


def test_json_and_csv_carry_the_table(eunomia_target, monkeypatch, tmp_path):
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    monkeypatch.delenv("COHORTQL_PROFILE", raising=False)  # no profile: the defaults
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    q3 = str(REPO / "examples/q3_new_af_warfarin.cohort")
    document = json.loads(CliRunner().invoke(app, ["count", q3, "--by", "sex", "--format", "json"]).stdout)
    (table,) = document["breakdowns"]
    assert table["strata"] == ["sex"]
    assert {cell["strata"]["sex"] for cell in table["cells"]} == {"female", "male"}
    assert table["margins"][-1]["strata"] == {} and table["margins"][-1]["value"] == 55
    csv_out = CliRunner().invoke(app, ["count", q3, "--by", "sex", "--format", "csv"]).stdout
    assert "final cohort by sex,,,,total,55," in csv_out


@pytest.mark.parametrize("by, message", [("agee", "did you mean `age5`?"), ("sex,age10,year", "at most two")])
def test_bad_breakdowns_are_usage_errors(by, message):
    result = CliRunner().invoke(app, ["count", str(REPO / "examples/q1_gi_bleed_nsaid.cohort"), "--by", by])
    assert result.exit_code == 2
    assert message in result.stderr
