"""The one module that chains the stages: parse -> resolve -> render -> transpile -> execute -> protect."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cohortql.diagnostics import Diagnostic, Source
from cohortql.version import __version__

if TYPE_CHECKING:
    from cohortql.execute.target import Target
    from cohortql.parse.ast import Definition
    from cohortql.protect import DisclosurePolicy, ProtectedResult
    from cohortql.protect.series import Layout
    from cohortql.protect.vocabulary import ConceptDetail, SearchResult
    from cohortql.render.vocabulary import ConceptSearch
    from cohortql.resolve.plan import Plan
    from cohortql.whatif.engine import CachedCounter

# Each stage is imported by the function that runs it: a command pays only for the stages it
# uses (`check` never loads the SQL, database and protection libraries).


@dataclass(frozen=True)
class Compiled:
    source: Source
    definition: Definition
    plan: Plan


# No definition (nor Circe file) is this large; reading stops here (`/dev/zero` is no definition).
MAX_SOURCE_BYTES = 100_000_000


class UnreadableFile(Exception):
    """A definition file that cannot be read: missing, a directory, not permitted, too large."""

    def __init__(self, message: str, hint: str | None = None, missing: bool = False):
        super().__init__(message)
        self.message, self.hint, self.missing = message, hint, missing


def read_text(path: str | Path) -> Source:
    """A file's text as UTF-8 (a byte order mark dropped); raises UnreadableFile, or CohortQLError
    (E006) at the first byte that is not UTF-8."""
    from cohortql.diagnostics import decode_source

    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
    except FileNotFoundError:
        raise UnreadableFile(f"no such file: {path}", missing=True) from None
    except IsADirectoryError:
        raise UnreadableFile(f"{path} is a directory, not a definition file",
                             f"name the files in it, e.g. {Path(path) / '*.cohort'}") from None
    except PermissionError:
        raise UnreadableFile(f"cannot read {path}: permission denied") from None
    except OSError as error:
        raise UnreadableFile(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) > MAX_SOURCE_BYTES:
        raise UnreadableFile(f"{path} is larger than {MAX_SOURCE_BYTES // 1_000_000} MB, no definition",
                             "is it the right file?")
    return decode_source(str(path), data)


def read_source(path: str | Path) -> Source:
    """A definition file; a Circe JSON file (`.json`) is imported to CohortQL on the way."""
    source = read_text(path)
    if Path(path).suffix.lower() == ".json":
        from cohortql.atlas import import_circe

        return Source(source.name, import_circe(source.text, source.name).text)
    return source


def compile_source(source: Source) -> Compiled:
    """Parse and resolve; raises `CohortQLError` with every diagnostic."""
    from cohortql.parse import parse
    from cohortql.resolve import resolve

    definition = parse(source.text, source.name)
    return Compiled(source, definition, resolve(definition, source))


def parse_source(source: Source) -> Definition:
    from cohortql.parse import parse

    return parse(source.text, source.name)


def run(
    compiled: Compiled,
    target: Target,
    policy: DisclosurePolicy | None = None,
    by: tuple[str, ...] | None = None,
    policy_note: str | None = None,
    cache: CachedCounter | None = None,
) -> ProtectedResult:
    """render -> transpile -> execute -> protect: the released answer for one definition.

    Without a policy, the active one (the profile's `[disclosure]` table, else the default).
    `by` lists breakdown dimensions; None means the definition's own `breakdown by`.
    With a `cache` (cohortql.whatif), the same RawCounts come from cached vectors where it can.
    """
    from cohortql.execute.runner import run_cohort, run_site_catalogue
    from cohortql.protect.profile import active_policy
    from cohortql.render import render
    from cohortql.render.strata import strata_for

    policy = policy or active_policy().policy
    dimensions = compiled.plan.breakdown if by is None else tuple(by)
    if cache is not None:
        raw, catalogue = cache.counts(compiled.plan, strata_for(dimensions))
    else:
        rendered = render(compiled.plan, target.cdm_schema, target.vocab_schema, strata_for(dimensions))
        raw = run_cohort(rendered, target)
        catalogue = run_site_catalogue(rendered, target) if "site" in raw.strata else []
    return protect_counts(compiled, target, raw, catalogue, dimensions, policy, policy_note)


def protect_counts(
    compiled: Compiled, target: Target, raw, catalogue: list[tuple], dimensions: tuple[str, ...],
    policy: DisclosurePolicy, policy_note: str | None = None,
) -> ProtectedResult:
    """protect: one definition's RawCounts (however computed) as its released answer."""
    from cohortql.fingerprint import fingerprint
    from cohortql.protect import protect
    from cohortql.protect.strata import breakdown_inputs

    breakdowns, hierarchies, values = breakdown_inputs(dimensions, raw, catalogue)
    return protect(
        raw,
        policy,
        rule_kinds=tuple(rule.kind for rule in compiled.plan.rules),
        title=dict(compiled.plan.metadata).get("title"),
        fingerprint=fingerprint(compiled.plan),
        database=target.to_dict(),
        breakdowns=breakdowns,
        hierarchies=hierarchies,
        strata_values=values,
        policy_note=policy_note,
    )


@dataclass(frozen=True)
class ReportAnswer:
    """The feasibility report's one protected release, with what the report says about its data."""

    result: ProtectedResult
    layout: Layout  # the series' grain and window
    cdm_source: tuple | None  # (name, holder, source release date, CDM release date)

    def to_dict(self) -> dict:
        """Everything the page shows that comes from the data, as a steward reviews it and a release
        checks it: the protected release of every table (attrition, by place, by sex x age band, the
        series the forecast is estimated from), the series' grain and window, the data source."""
        source = None if self.cdm_source is None else [None if v is None else str(v) for v in self.cdm_source]
        return {"result": self.result.to_dict(), "layout": self.layout.to_dict(), "cdm_source": source}


def run_report(
    compiled: Compiled, target: Target, policy: DisclosurePolicy | None = None, place: str | None = "site",
    cache: CachedCounter | None = None,
) -> ReportAnswer:
    """One query by place, sex, age band and index month; one release of every table the report shows.

    With a `cache` (cohortql.whatif), the same RawCounts come from cached vectors where it can."""
    from cohortql.execute.runner import run_cdm_source, run_cohort, run_site_catalogue
    from cohortql.fingerprint import fingerprint
    from cohortql.protect import protect
    from cohortql.protect.profile import active_policy
    from cohortql.protect.series import Window, last_month, plan_release, report_strata
    from cohortql.render import render

    policy = policy or active_policy().policy
    rendered = render(compiled.plan, target.cdm_schema, target.vocab_schema, report_strata(place))
    if cache is not None:
        raw, catalogue = cache.counts(compiled.plan, report_strata(place))
    else:
        raw = run_cohort(rendered, target)
        catalogue = run_site_catalogue(rendered, target) if place else []
    sources = run_cdm_source(rendered, target)
    source = sources[0] if sources else None
    end = last_month(source[3] or source[2] if source else None, raw)
    release = plan_release(raw, catalogue, policy, place, Window.ending(end) if end else Window(()))
    result = protect(
        release.raw,
        policy,
        rule_kinds=tuple(rule.kind for rule in compiled.plan.rules),
        title=dict(compiled.plan.metadata).get("title"),
        fingerprint=fingerprint(compiled.plan),
        database=target.to_dict(),
        breakdowns=release.breakdowns,
        hierarchies=release.hierarchies,
        strata_values=release.values,
    )
    return ReportAnswer(result, release.layout, source)


# How a person runs the script `cohortql sql` prints for an engine that takes it as is.
RUN_AS_IS = {
    "duckdb": "duckdb CDM.duckdb < cohort.sql",
    "postgres": 'psql "postgresql://USER@HOST:5432/DATABASE" -v ON_ERROR_STOP=1 -f cohort.sql',
}


def rendered_sql(
    compiled: Compiled, dialect: str, cdm_schema: str | None = None, vocab_schema: str | None = None
) -> str:
    """The whole script for one dialect, as `cohortql sql` prints it and the engine runs it.

    For DuckDB and PostgreSQL it runs as is (temporary tables filled with the concept-set rows,
    bind values written as literals by sqlglot); for the others the bind values are listed.
    Raises CohortQLError (E201) for a construct the dialect cannot express, TranspileError for
    SQL sqlglot cannot write in it.
    """
    from cohortql.render import render
    from cohortql.transpile import check_expressible

    check_expressible(compiled.definition, compiled.source, dialect)
    rendered = render(compiled.plan, cdm_schema, vocab_schema)
    header = f"-- cohortql {__version__}: {compiled.source.name} for {dialect}"
    if dialect in RUN_AS_IS:
        return _script_to_run(rendered, dialect, header, cdm_schema)
    return _script_to_read(rendered, dialect, header)


def _script_to_run(rendered, dialect: str, header: str, cdm_schema: str | None) -> str:
    from sqlglot import exp

    from cohortql.transpile import literal, transpile

    where = f"schema {cdm_schema}" if cdm_schema else "the connection's search path (no --cdm-schema)"
    parts = [header, f"-- Runs as is: {RUN_AS_IS[dialect]}", f"-- CDM tables: {where}."]
    for table in rendered.inputs:
        parts.append(f"CREATE TEMPORARY TABLE {table.name} ({', '.join(f'{n} {t}' for n, t in table.columns)});")
        if table.rows:
            rows = exp.values([tuple(literal(value) for value in row) for row in table.rows])
            insert = exp.insert(rows, table.name, columns=[name for name, _ in table.columns])
            parts.append(insert.sql(dialect=dialect, pretty=True) + ";")
    parts.append("-- the resolved concept sets")
    codesets = transpile(rendered.codesets.sql, dialect, inline=rendered.codesets.params)
    parts.append(f"CREATE TEMPORARY TABLE cq_codeset AS\n{codesets};")
    parts.append("-- the one-pass cohort query: persons and entries by rule mask and strata")
    parts.append(transpile(rendered.cohort.sql, dialect, inline=rendered.cohort.params) + ";")
    return "\n".join(parts) + "\n"


def _script_to_read(rendered, dialect: str, header: str) -> str:
    from cohortql.transpile import transpile

    parts = [header]
    for table in rendered.inputs:
        columns = ", ".join(f"{name} {kind}" for name, kind in table.columns)
        parts.append(f"-- input {table.name} ({columns}): {len(table.rows)} rows loaded with bind parameters")
        for row in table.rows:
            parts.append(f"--   {row}")
    parts.append("-- resolved concept sets, materialised as temporary table cq_codeset")
    parts.append(transpile(rendered.codesets.sql, dialect) + ";")
    parts.append("-- the one-pass cohort query; bind parameters:")
    parts.append("--   " + ", ".join(f"{k}={v!r}" for k, v in rendered.cohort.params.items()))
    parts.append(transpile(rendered.cohort.sql, dialect) + ";")
    return "\n".join(parts) + "\n"


def unknown_concepts(compiled: Compiled, target: Target) -> tuple[Diagnostic, ...]:
    """An E401 for each concept id of the definition that the target's vocabulary does not hold
    (such a concept matches no record): errors for `check --db`, warnings when counting."""
    from cohortql.execute.runner import run_known_concepts
    from cohortql.render import render_known_concepts
    from cohortql.resolve.concept_ids import concept_references

    references = concept_references(compiled.definition)
    if not references:
        return ()
    ids = tuple(sorted({r.concept_id for r in references}))
    known = run_known_concepts(render_known_concepts(ids, target.vocab_schema or target.cdm_schema), target)
    return tuple(
        Diagnostic("E401", f"{r.what} {r.concept_id} is not in the vocabulary of {target.description}", r.span,
                   "it matches no record; look the id up (e.g. in ATHENA), or list the sets with `cohortql concepts`")
        for r in references if r.concept_id not in known
    )


def concept_report(compiled: Compiled, target: Target, policy: DisclosurePolicy | None = None,
                   shown_with: dict | None = None):
    """Per concept set: (codeset, rows of display strings), record counts protected by the protect
    stage (cohortql/protect/concepts.py); `shown_with` is the protected count (`to_dict()`) shown
    next to the report, whose entry events the entry concept set's records are protected with."""
    from cohortql.execute.runner import run_concept_report
    from cohortql.protect.concepts import protect_records
    from cohortql.protect.profile import active_policy
    from cohortql.render import render

    policy = policy or active_policy().policy
    rendered = render(compiled.plan, target.cdm_schema, target.vocab_schema)
    rows = run_concept_report(rendered, target)
    shown = protect_records([int(r[6]) for r in rows], [r[0] for r in rows], policy,
                            entry_codesets=frozenset(e.codeset_id for e in compiled.plan.entry.events),
                            entries=shown_with["entries"] if shown_with else None)
    report = []
    for codeset in compiled.plan.codesets:
        mine = [(r, display) for r, display in zip(rows, shown, strict=True) if r[0] == codeset.id]
        described = [(str(r[1]), r[2] or "(not in vocabulary)", r[3] or "", r[4] or "", r[5] or "", display)
                     for r, display in mine]
        report.append((codeset, described))
    return report


def search_concepts(search: ConceptSearch, target: Target, policy: DisclosurePolicy | None = None, limit: int = 25,
                    policy_note: str | None = None) -> SearchResult:
    """render -> execute -> protect for `cohortql concepts search`: the hits (a `SearchResult`) for a
    `render.vocabulary.ConceptSearch`, ranked on their protected record counts."""
    from cohortql.execute.runner import run_lookup
    from cohortql.protect.profile import active_policy
    from cohortql.protect.vocabulary import protect_search
    from cohortql.render.vocabulary import MAX_CANDIDATES, render_concept_search

    policy = policy or active_policy().policy
    rows = run_lookup(render_concept_search(search, target.cdm_schema, target.vocab_schema), target)
    capped = MAX_CANDIDATES if len(rows) > MAX_CANDIDATES else None  # the rows come in the order picked
    return protect_search(search.text, rows[:MAX_CANDIDATES], policy, limit, capped, target.to_dict(), policy_note)


def show_concept(concept_id: int, target: Target, policy: DisclosurePolicy | None = None, limit: int = 25,
                 policy_note: str | None = None) -> ConceptDetail | None:
    """render -> execute -> protect for `cohortql concepts show`: the concept with its ancestors,
    descendants and mapped codes (a `ConceptDetail`), or None when the vocabulary lacks it."""
    from cohortql.execute.runner import run_lookup
    from cohortql.protect.profile import active_policy
    from cohortql.protect.vocabulary import protect_detail
    from cohortql.render.vocabulary import render_concept_show

    policy = policy or active_policy().policy
    rows = run_lookup(render_concept_show(concept_id, target.cdm_schema, target.vocab_schema), target)
    return protect_detail(rows, policy, limit, target.to_dict(), policy_note)


def vocabularies(target: Target) -> list[str]:
    """The vocabulary ids that hold concepts in the target's vocabulary."""
    from cohortql.execute.runner import run_lookup
    from cohortql.render.vocabulary import render_vocabularies

    return [str(row[0]) for row in run_lookup(render_vocabularies(target.vocab_schema or target.cdm_schema), target)]
