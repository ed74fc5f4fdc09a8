"""Fills the Jinja templates in sql_templates/ from a plan.

Values reach SQL only through `param()` (a bind parameter); schema names only through
`quote_identifier`. The templates never see user text any other way.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jinja2

from cohortql.omop import DOMAINS, GENDER_CONCEPTS, RANGE_ATTRIBUTES
from cohortql.render.identifiers import qualifier
from cohortql.resolve import plan as p
from cohortql.resources import cache_dir, resource_path

_SQL_OPS = {">=": ">=", ">": ">", "<=": "<=", "<": "<", "=": "=", "!=": "<>"}


@dataclass(frozen=True)
class SqlStatement:
    sql: str
    params: dict[str, Any] = field(default_factory=dict)
    reads_concept_sets: bool = True  # False: the execute stage skips the inputs and cq_codeset


@dataclass(frozen=True)
class TempTable:
    """Rows the execute stage loads into a temporary table before the query runs."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (name, SQL type)
    rows: tuple[tuple, ...]


@dataclass(frozen=True)
class RenderedCohort:
    """Everything the execute stage runs, in order: load tables, build codesets, one query."""

    inputs: tuple[TempTable, ...]
    codesets: SqlStatement  # SELECT codeset_id, concept_id (materialised as cq_codeset)
    cohort: SqlStatement  # SELECT mask, strata..., persons, entries
    concept_report: SqlStatement  # SELECT codeset_id, concept_id, name, ..., records
    site_catalogue: SqlStatement  # SELECT site, site_group for every care site
    cdm_source: SqlStatement  # SELECT name, holder, source and CDM release dates
    rule_names: tuple[str, ...]
    strata: tuple[str, ...]


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept in the user's cache, keyed by each template's checksum (an edited
    template is compiled again): a new process skips compiling them. A cache that cannot be written
    is no error."""

    def dump_bytecode(self, bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _compiled_templates() -> jinja2.BytecodeCache | None:
    directory = cache_dir() / "sql_templates"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _CompiledTemplates(str(directory))


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_path("sql_templates"))),
        bytecode_cache=_compiled_templates(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=False,
        keep_trailing_newline=True,
    )


class _Parameters:
    """Collects bind parameters; templates call it and get back a placeholder."""

    def __init__(self):
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"

    def many(self, values) -> str:
        return ", ".join(self(v) for v in values)


def _criteria(tests) -> list[p.Occurs]:
    """Every distinct criterion of the tests, in first-use order (identical criteria share one scan)."""
    found: list[p.Occurs] = []
    for test in tests:
        _collect_criteria(test, found)
    return found


def _collect_criteria(test: p.Test, found: list[p.Occurs]) -> None:
    if isinstance(test, p.Occurs):
        if test not in found:  # identical criteria share one scan
            found.append(test)
    elif isinstance(test, (p.AllOf, p.AnyOf, p.AtLeastOf)):
        for child in test.children:
            _collect_criteria(child, found)
    elif isinstance(test, p.NotTest):
        _collect_criteria(test.child, found)


@dataclass(frozen=True)
class _Criterion:
    id: int
    node: p.Occurs


@dataclass(frozen=True)
class _Nested:
    """The records of an event with a nested test (`nested_N`), each with the test's criteria
    counted per record: the same shape as the entries and their criteria, one level down."""

    id: int
    event: p.EventQuery
    criteria: tuple[_Criterion, ...]

    def criterion_id(self, node: p.Occurs) -> int:
        return next(c.id for c in self.criteria if c.node == node)


def _nested_scopes(plan: p.Plan, criteria: list[p.Occurs]) -> list[_Nested]:
    """Every distinct event with a nested test, those it depends on first (identical events share one)."""
    scopes: list[_Nested] = []

    def visit(event: p.EventQuery) -> None:
        if event.nested is None or any(scope.event == event for scope in scopes):
            return
        found = _criteria([event.nested])
        for criterion in found:
            visit(criterion.event)
        scopes.append(_Nested(len(scopes), event, tuple(_Criterion(i, node) for i, node in enumerate(found))))

    for event in [*plan.entry.events, *(criterion.event for criterion in criteria)]:
        visit(event)
    return scopes


def _template_context(plan: p.Plan, tests) -> dict:
    """What index_events.sql.j2 needs: the criteria of `tests` (the rules') counted per entry, those
    of the entry's qualify criterion, and the nested scopes. Each list is numbered once: qualify's
    criteria are counted over the entry events, the rules' over the entries that qualify, so a
    criterion used by both is counted twice."""
    found = _criteria(tests)
    qualify = _criteria([plan.entry.qualify.test]) if plan.entry.qualify else []
    scopes = _nested_scopes(plan, [*qualify, *found])
    return {
        "criteria": [_Criterion(i, node) for i, node in enumerate(found)],
        "criterion_id": found.index,
        "qualify_criteria": [_Criterion(len(found) + i, node) for i, node in enumerate(qualify)],
        "qualify_criterion_id": lambda node: len(found) + qualify.index(node),
        "nested_scopes": scopes,
        "nested_id": lambda event: next(scope.id for scope in scopes if scope.event == event),
    }


@dataclass(frozen=True)
class _Usage:
    codeset_id: int
    domain: str


def _usages(plan: p.Plan, criteria: list[p.Occurs]) -> list[_Usage]:
    """(concept set, domain table) pairs the definition reads, for the concept report."""
    usages = []
    nested = [c.node.event for scope in _nested_scopes(plan, criteria) for c in scope.criteria]
    for event in [*plan.entry.events, *(criterion.event for criterion in criteria), *nested]:
        usage = _Usage(event.codeset_id, event.domain)
        if event.codeset_id is not None and usage not in usages:
            usages.append(usage)
    return usages


def _unsupported(kind: str) -> str:
    raise NotImplementedError(f"no SQL template for {kind}")


def _render(template: str, parameters: _Parameters, **context) -> str:
    env = _environment()
    return (
        env.get_template(template)
        .render(
            domains=DOMAINS,
            range_attributes=RANGE_ATTRIBUTES,
            param=parameters,
            params=parameters.many,
            sql_op=_SQL_OPS.__getitem__,
            node_kind=lambda node: type(node).__name__,
            unsupported=_unsupported,
            **context,
        )
        .strip()
        + "\n"
    )


def _table_namer(schema: str | None):
    """`name -> "schema".name`, or the bare name in the connection's default schema."""
    prefix = qualifier(schema)
    return (lambda table: f"{prefix}.{table}") if prefix else (lambda table: table)


def render(
    plan: p.Plan, cdm_schema: str | None = None, vocab_schema: str | None = None, strata: tuple[str, ...] = (),
    per_person: bool = False,
) -> RenderedCohort:
    """`strata` are breakdown dimensions (cohortql.omop.BREAKDOWNS), aggregated in the same pass.

    `per_person`: the cohort query returns one row per person (person_id, mask, strata..., entries)
    instead of counts, for the release ledger, which reads it inside the process only.
    """
    cdm_table = _table_namer(cdm_schema)
    vocab_table = _table_namer(vocab_schema or cdm_schema)

    items = tuple(
        (codeset.id, item.concept_id, item.descendants, item.excluded)
        for codeset in plan.codesets
        for item in codeset.items
    )
    sources = tuple(
        (codeset.id, source.vocabulary, source.pattern) for codeset in plan.codesets for source in codeset.sources
    )
    inputs = (
        TempTable(
            "cq_codeset_item",
            (("codeset_id", "INTEGER"), ("concept_id", "BIGINT"), ("descendants", "BOOLEAN"), ("excluded", "BOOLEAN")),
            items,
        ),
        TempTable(
            "cq_codeset_source",
            (("codeset_id", "INTEGER"), ("vocabulary_id", "VARCHAR(20)"), ("pattern", "VARCHAR(255)")),
            sources,
        ),
    )

    codeset_params = _Parameters()
    codesets_sql = _render("codesets.sql.j2", codeset_params, vocab_table=vocab_table)

    context = _template_context(plan, [rule.test for rule in plan.rules])
    cohort_params = _Parameters()
    cohort_sql = _render(
        "cohort.sql.j2",
        cohort_params,
        plan=plan,
        cdm_table=cdm_table,
        **context,
        strata=strata,
        per_person=per_person,
        female=GENDER_CONCEPTS["female"],
        male=GENDER_CONCEPTS["male"],
    )
    report_params = _Parameters()
    usages = _usages(plan, [c.node for c in (*context["qualify_criteria"], *context["criteria"])])
    report_sql = _render(
        "concept_report.sql.j2", report_params, cdm_table=cdm_table, vocab_table=vocab_table, usages=usages
    )
    catalogue_params = _Parameters()
    catalogue_sql = _render("site_catalogue.sql.j2", catalogue_params, cdm_table=cdm_table)
    source_params = _Parameters()
    source_sql = _render("cdm_source.sql.j2", source_params, cdm_table=cdm_table)
    return RenderedCohort(
        inputs=inputs,
        concept_report=SqlStatement(report_sql, report_params.values),
        site_catalogue=SqlStatement(catalogue_sql, catalogue_params.values, reads_concept_sets=False),
        cdm_source=SqlStatement(source_sql, source_params.values, reads_concept_sets=False),
        codesets=SqlStatement(codesets_sql, codeset_params.values),
        cohort=SqlStatement(cohort_sql, cohort_params.values),
        rule_names=tuple(rule.name for rule in plan.rules),
        strata=tuple(strata),
    )


def render_split(
    plan: p.Plan, tests: tuple[p.Test, ...], cdm_schema: str | None = None, strata: tuple[str, ...] = ()
) -> SqlStatement:
    """Per entry event: entry_id, person_id, each stratum, then 0/1 per test (what-if cache).

    Entries are numbered exactly as in the one-pass query (same CTEs), so vectors computed by
    separate statements line up. It reads cq_codeset, which `render(plan)` prepares.
    """
    parameters = _Parameters()
    sql = _render(
        "split.sql.j2",
        parameters,
        plan=plan,
        tests=tests,
        cdm_table=_table_namer(cdm_schema),
        **_template_context(plan, tests),
        strata=strata,
        female=GENDER_CONCEPTS["female"],
        male=GENDER_CONCEPTS["male"],
    )
    return SqlStatement(sql, parameters.values)


def render_known_concepts(concept_ids: tuple[int, ...], vocab_schema: str | None = None) -> SqlStatement:
    """The ids among `concept_ids` that the vocabulary's concept table holds (no person data)."""
    parameters = _Parameters()
    sql = _render("known_concepts.sql.j2", parameters, vocab_table=_table_namer(vocab_schema), ids=concept_ids)
    return SqlStatement(sql, parameters.values, reads_concept_sets=False)
