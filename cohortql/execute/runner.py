"""Runs a rendered cohort on the target's engine: stage inputs and concept sets, then one query.

The same steps on every engine (`engine.py` says what each step promises); the engine modules
hold every difference. Database work runs in a worker thread so that Ctrl-C cancels it on the
server (`cancel.py`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TypeVar

from cohortql.counts import RawCounts
from cohortql.execute.cancel import Cancellable, run_cancellable
from cohortql.execute.engine import Engine, EngineSession
from cohortql.execute.target import Target
from cohortql.render import RenderedCohort, SqlStatement

T = TypeVar("T")

# Each engine module is imported when a target first needs it (Spark's only for spark:// URLs).
_ENGINE_MODULES = {
    "duckdb": "cohortql.execute.duckdb",
    "postgres": "cohortql.execute.postgres",
    "spark": "cohortql.execute.spark",
}


def engine_for(target: Target) -> Engine:
    return importlib.import_module(_ENGINE_MODULES[target.dialect]).ENGINE


def _run(
    rendered: RenderedCohort | None, target: Target, statement: SqlStatement, read: Callable[[EngineSession], T]
) -> T:
    """Open a session, stage what the statement reads, and `read` it in the read-only part."""
    engine = engine_for(target)

    def work(cancellable: Cancellable) -> T:
        with engine.connect(target, cancellable) as session:
            if statement.reads_concept_sets:  # the site catalogue needs none: skip building them
                session.stage_inputs(rendered.inputs)
                session.stage_concept_sets(rendered.codesets)
            session.start_reading()
            cancellable.check()  # Ctrl-C between the preparing statements: stop before the query
            return read(session)

    return run_cancellable(work)


def _fetch(rendered: RenderedCohort, target: Target, statement: SqlStatement) -> list[tuple]:
    return _run(rendered, target, statement, lambda session: session.fetch(statement))


def run_statement(rendered: RenderedCohort, target: Target, statement: SqlStatement) -> list[tuple]:
    """One statement on the target (after the concept sets, if it reads them): its rows.

    The seam the what-if cache is built on, the same for DuckDB, PostgreSQL and Spark."""
    return _fetch(rendered, target, statement)


def run_cohort(rendered: RenderedCohort, target: Target) -> RawCounts:
    result = _fetch(rendered, target, rendered.cohort)
    n_strata = len(rendered.strata)
    rows = tuple(
        (int(row[0]), tuple(row[1 : 1 + n_strata]), int(row[1 + n_strata]), int(row[2 + n_strata])) for row in result
    )
    return RawCounts(rendered.rule_names, rendered.strata, rows)


def run_person_rows(rendered: RenderedCohort, target: Target) -> list[tuple]:
    """(person_id, mask, strata..., entries) per person, from a cohort rendered `per_person`: true
    memberships for the release ledger, which never lets them leave the process."""
    return _fetch(rendered, target, rendered.cohort)


def run_concept_report(rendered: RenderedCohort, target: Target) -> list[tuple]:
    """(codeset_id, concept_id, name, domain, vocabulary, standard, records) per resolved concept."""
    return _fetch(rendered, target, rendered.concept_report)


def run_known_concepts(statement: SqlStatement, target: Target) -> set[int]:
    """The concept ids the vocabulary holds, of those `render_known_concepts` asks about."""
    return {int(row[0]) for row in run_lookup(statement, target)}


def run_lookup(statement: SqlStatement, target: Target) -> list[tuple]:
    """The rows of a statement that reads no concept set (the vocabulary look-ups of `concepts search`
    and `show`)."""
    assert not statement.reads_concept_sets
    return _run(None, target, statement, lambda session: session.fetch(statement))


def run_site_catalogue(rendered: RenderedCohort, target: Target) -> list[tuple]:
    """(site, site_group) for every care site, labelled as the site strata are."""
    return _fetch(rendered, target, rendered.site_catalogue)


def run_cdm_source(rendered: RenderedCohort, target: Target) -> list[tuple]:
    """(name, holder, source release date, CDM release date) rows of cdm_source, latest first."""
    return _fetch(rendered, target, rendered.cdm_source)


def explain_cohort(rendered: RenderedCohort, target: Target) -> str:
    """The engine's executed plan of the cohort query (PostgreSQL: JSON), for benchmarks and tuning."""
    settings = engine_for(target).settings
    if settings.explain_prefix is None:  # say so before any work
        raise settings.no_executed_plan()
    return _run(rendered, target, rendered.cohort, lambda session: session.explain(rendered.cohort))
