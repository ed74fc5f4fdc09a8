"""The command line: parses options, calls the pipeline, prints, maps errors to exit codes.

Exit codes: 0 success, 1 a definition or database error, 2 a usage error.
"""

from __future__ import annotations

import difflib
import json
import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from cohortql import pipeline
from cohortql.diagnostics import CohortQLError

app = typer.Typer(
    help="Cohort feasibility counts on OMOP CDM warehouses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class ErrorFormat(StrEnum):
    text = "text"
    json = "json"


def _report_definition_errors(errors: list[CohortQLError], fmt: ErrorFormat) -> None:
    if fmt is ErrorFormat.json:
        print(json.dumps({"errors": [d for e in errors for d in e.to_dicts()]}, indent=2))
    else:
        for error in errors:
            err.print(str(error), markup=False)
            err.print()


def _read(path: Path, reader=pipeline.read_source):
    try:
        return reader(path)
    except FileNotFoundError:
        err.print(f"error: no such file: {path}", markup=False)
        raise typer.Exit(2) from None
    except (IsADirectoryError, UnicodeDecodeError, PermissionError) as error:
        err.print(f"error: cannot read {path}: {error.__class__.__name__}", markup=False)
        raise typer.Exit(2) from None


@app.command()
def check(
    files: list[Path] = typer.Argument(..., help="Definition files (.cohort)."),
    format: ErrorFormat = typer.Option(ErrorFormat.text, "--format", help="Error output: text or json."),
) -> None:
    """Check definitions for syntax and semantic errors (exit 1 if any)."""
    errors = []
    for path in files:
        try:
            pipeline.compile_source(_read(path))
        except CohortQLError as error:
            errors.append(error)
    if errors:
        _report_definition_errors(errors, format)
        raise typer.Exit(1)
    if format is ErrorFormat.json:
        print(json.dumps({"errors": []}))
    else:
        err.print(f"ok: {len(files)} definition{'s' if len(files) != 1 else ''} checked", markup=False)


@app.command()
def fmt(
    files: list[Path] = typer.Argument(..., help="Definition files to rewrite in canonical form."),
    check_only: bool = typer.Option(False, "--check", help="Only report files that are not formatted."),
) -> None:
    """Rewrite definitions in canonical form (comments are kept)."""
    from cohortql.format import format_definition

    unformatted, errors = [], []
    for path in files:
        source = _read(path)
        try:
            formatted = format_definition(pipeline.parse_source(source))
        except CohortQLError as error:
            errors.append(error)
            continue
        if formatted != source.text:
            unformatted.append(path)
            if not check_only:
                path.write_text(formatted, encoding="utf-8")
    if errors:
        _report_definition_errors(errors, ErrorFormat.text)
        raise typer.Exit(1)
    for path in unformatted:
        err.print(f"{'would reformat' if check_only else 'reformatted'} {path}", markup=False)
    if check_only and unformatted:
        raise typer.Exit(1)


@app.command()
def explain(file: Path = typer.Argument(..., help="Definition file.")) -> None:
    """Print the definition in plain English for a data steward (reads the file only)."""
    from cohortql.report.explain import explain_plan

    try:
        compiled = pipeline.compile_source(_read(file))
    except CohortQLError as error:
        _report_definition_errors([error], ErrorFormat.text)
        raise typer.Exit(1) from None
    sys.stdout.write(explain_plan(compiled.plan))


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class Dialect(StrEnum):
    duckdb = "duckdb"
    postgres = "postgres"
    spark = "spark"
    bigquery = "bigquery"
    snowflake = "snowflake"
    tsql = "tsql"
    trino = "trino"


DB_OPTION = typer.Option(None, "--db", help="Database URL (else COHORTQL_DB, the profile, or the Eunomia demo).")
CDM_OPTION = typer.Option(None, "--cdm-schema", help="Schema holding the CDM tables.")
VOCAB_OPTION = typer.Option(None, "--vocab-schema", help="Schema holding the vocabulary (default: the CDM schema).")
TIMEOUT_OPTION = typer.Option(None, "--timeout", min=1, help="Time limit for the query, in seconds (default 600).")


def _compile_or_exit(file: Path) -> pipeline.Compiled:
    try:
        return pipeline.compile_source(_read(file))
    except CohortQLError as error:
        _report_definition_errors([error], ErrorFormat.text)
        raise typer.Exit(1) from None


def _fail(cause: str, hint: str | None = None, code: int = 1) -> typer.Exit:
    err.print(f"error: {cause}", markup=False)
    if hint:
        err.print(f"  hint: {hint}", markup=False)
    return typer.Exit(code)


def _target(db, cdm_schema, vocab_schema, timeout):
    from cohortql.execute.errors import DatabaseError
    from cohortql.execute.target import resolve_target
    from cohortql.render.identifiers import IdentifierError, quote_identifier

    try:
        for schema in (cdm_schema, vocab_schema):
            if schema:
                quote_identifier(schema, "schema name")
        return resolve_target(db, cdm_schema, vocab_schema, timeout)
    except IdentifierError as error:
        raise _fail(str(error), code=2) from None
    except DatabaseError as error:
        raise _fail(error.cause, error.hint) from None


THRESHOLD_OPTION = typer.Option(None, "--threshold", help="Suppress counts below N (at least the profile's threshold).")
SUPPRESS_ZERO_OPTION = typer.Option(False, "--suppress-zero", help="Suppress counts of 0 as well.")
ROUNDING_OPTION = typer.Option(
    None, "--rounding-base", help="Round released counts to a multiple of N (only coarser than the profile's)."
)
COMPLEMENTARY_OPTION = typer.Option(False, "--complementary", help="Turn on complementary suppression.")
DIFFERENCES_OPTION = typer.Option(False, "--attrition-differences", help="Protect persons removed by each rule.")


def _policy(threshold, suppress_zero, rounding_base, complementary, attrition_differences):
    """The profile's disclosure policy, made stricter by the options (looser is a usage error)."""
    from cohortql.protect import PolicyError
    from cohortql.protect.profile import ActivePolicy, active_policy

    try:
        active = active_policy()
    except PolicyError as error:
        raise _fail(str(error), "fix the [disclosure] table of the profile (see docs/disclosure.md)", code=2) from None
    try:
        policy = active.policy.tightened(
            threshold=threshold,
            suppress_zero=suppress_zero or None,
            rounding_base=rounding_base,
            complementary=complementary or None,
            attrition_differences=attrition_differences or None,
        )
    except PolicyError as error:
        hint = f"the active policy is {active.source}; only the profile can loosen it"
        raise _fail(str(error), hint, code=2) from None
    changed = policy != active.policy
    return ActivePolicy(policy, f"{active.source}, made stricter by options" if changed else active.source)


def _against_floor(active) -> str | None:
    """How the policy stands to the deployment's floor: a note for every output, or a usage error."""
    from cohortql.governance.errors import GovernanceError
    from cohortql.governance.floor import deployment_floor

    try:
        floor = deployment_floor()
    except GovernanceError as error:
        raise _fail(error.message, error.hint, code=2) from None
    if active.policy == floor.policy:
        return None
    looser = active.policy.looser_than(floor.policy)
    if not looser:
        return f"the policy of {active.source} is stricter than {floor.describe()}"
    if not floor.allow_looser_profiles:
        raise _fail(f"the disclosure policy of {active.source} is looser than {floor.describe()}: "
                    + "; ".join(looser), "only an admin can change the floor (cohortql admin policy set)", code=2)
    return (f"the policy of {active.source} is LOOSER than {floor.describe()} ({'; '.join(looser)}): "
            "for the insider's own use, never for release")


def _breakdown_dimensions(by: list[str] | None) -> tuple[str, ...] | None:
    """`--by site,sex` or `--by site --by sex`; None when not given (the definition decides)."""
    from cohortql.omop import BREAKDOWNS

    if not by:
        return None
    dimensions = tuple(dict.fromkeys(d.strip() for item in by for d in item.split(",") if d.strip()))
    for dimension in dimensions:
        if dimension not in BREAKDOWNS:
            close = difflib.get_close_matches(dimension, BREAKDOWNS, n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"choose from {', '.join(BREAKDOWNS)}"
            raise _fail(f"unknown breakdown `{dimension}`", hint, code=2)
    if len(dimensions) > 2:
        raise _fail("at most two breakdown dimensions", "tables are one- or two-way; run again for other pairs", 2)
    return dimensions


@app.command()
def count(
    file: Path = typer.Argument(..., help="Definition file."),
    db: str | None = DB_OPTION,
    cdm_schema: str | None = CDM_OPTION,
    vocab_schema: str | None = VOCAB_OPTION,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, json, csv or markdown."),
    timeout: int | None = TIMEOUT_OPTION,
    threshold: int | None = THRESHOLD_OPTION,
    suppress_zero: bool = SUPPRESS_ZERO_OPTION,
    rounding_base: int | None = ROUNDING_OPTION,
    complementary: bool = COMPLEMENTARY_OPTION,
    attrition_differences: bool = DIFFERENCES_OPTION,
    by: list[str] | None = typer.Option(
        None, "--by", help="Break the final cohort down by site, site_group, sex, age5, age10 or year "
        "(comma-separated or repeated; at most two). Default: the definition's `breakdown by`."),
    cache: Path | None = typer.Option(
        None, "--cache", help="What-if cache directory (default: under $COHORTQL_CACHE_DIR or ~/.cache/cohortql)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Count in one pass on the database; use no cache."),
) -> None:
    """Count the cohort: attrition per rule, gains, final persons, breakdowns; small counts suppressed."""
    from cohortql.execute.errors import DatabaseError
    from cohortql.report.counts import render
    from cohortql.transpile import TranspileError

    dimensions = _breakdown_dimensions(by)
    compiled = _compile_or_exit(file)
    active = _policy(threshold, suppress_zero, rounding_base, complementary, attrition_differences)
    note = _against_floor(active)
    target = _target(db, cdm_schema, vocab_schema, timeout)
    try:
        from cohortql.cli_whatif import cache_warnings
        from cohortql.whatif.app import target_counter

        counter = None if no_cache else target_counter(target, cache)
        with err.status(f"counting on {target.description} ...", spinner="dots"), cache_warnings():
            result = pipeline.run(compiled, target, active.policy, by=dimensions, policy_note=note, cache=counter)
    except DatabaseError as error:
        raise _fail(error.cause, error.hint) from None
    except TranspileError as error:
        raise _fail(str(error)) from None
    if format is OutputFormat.table:
        err.print(f"answered by: {target.description}", markup=False)
    sys.stdout.write(render(result, format.value))


class ReportLanguage(StrEnum):
    en = "en"
    fr = "fr"


class ReportPlace(StrEnum):
    site = "site"
    site_group = "site_group"


@app.command()
def report(
    file: Path = typer.Argument(..., help="Definition file."),
    output: Path = typer.Option(..., "--output", "-o", help="FILE.html (self-contained page) or FILE.pdf."),
    by: ReportPlace = typer.Option(ReportPlace.site, "--by", help="Sites (with site-group subtotals) or site groups."),
    lang: ReportLanguage = typer.Option(ReportLanguage.en, "--lang", help="Language of the report: en or fr."),
    target: int | None = typer.Option(None, "--target", min=1, help="Patients to enrol: the time to reach it."),
    enrol_fraction: float | None = typer.Option(
        None, "--enrol-fraction",
        help="Share of newly eligible patients who enrol (default 0.35, see docs/report.md)."),
    db: str | None = DB_OPTION,
    cdm_schema: str | None = CDM_OPTION,
    vocab_schema: str | None = VOCAB_OPTION,
    timeout: int | None = TIMEOUT_OPTION,
    threshold: int | None = THRESHOLD_OPTION,
    suppress_zero: bool = SUPPRESS_ZERO_OPTION,
    rounding_base: int | None = ROUNDING_OPTION,
    complementary: bool = COMPLEMENTARY_OPTION,
    attrition_differences: bool = DIFFERENCES_OPTION,
    cache: Path | None = typer.Option(
        None, "--cache", help="What-if cache directory (default: under $COHORTQL_CACHE_DIR or ~/.cache/cohortql)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Count in one pass on the database; use no cache."),
) -> None:
    """Write the sponsor's feasibility report (HTML or PDF): counts, charts, newly eligible over time, forecast."""
    from cohortql.execute.errors import DatabaseError
    from cohortql.report.document import SUFFIXES, prepare_report, report_html, write_report
    from cohortql.report.forecast import DEFAULT_ENROL_FRACTION
    from cohortql.report.pdf import PdfError
    from cohortql.transpile import TranspileError

    if output.suffix.lower() not in SUFFIXES:
        raise _fail(f"cannot tell the format of {output}", "name the output FILE.html or FILE.pdf", code=2)
    if enrol_fraction is not None and not 0 < enrol_fraction <= 1:
        raise _fail(f"--enrol-fraction {enrol_fraction} is not a share", "give a number above 0 and at most 1", 2)
    compiled = _compile_or_exit(file)
    policy = _policy(threshold, suppress_zero, rounding_base, complementary, attrition_differences).policy
    target_db = _target(db, cdm_schema, vocab_schema, timeout)
    ready = prepare_report()
    try:
        from cohortql.cli_whatif import cache_warnings
        from cohortql.whatif.app import target_counter

        counter = None if no_cache else target_counter(target_db, cache)
        with err.status(f"counting on {target_db.description} ...", spinner="dots"), cache_warnings():
            answer = pipeline.run_report(compiled, target_db, policy, place=by.value, cache=counter)
        with err.status(f"writing {output} ...", spinner="dots"):
            ready()
            html = report_html(answer, compiled, answered_by=target_db.description, lang=lang.value, target=target,
                               enrol_fraction=enrol_fraction or DEFAULT_ENROL_FRACTION)
            write_report(html, output)
    except DatabaseError as error:
        raise _fail(error.cause, error.hint) from None
    except TranspileError as error:
        raise _fail(str(error)) from None
    except PdfError as error:
        raise _fail(error.cause, error.hint) from None
    except OSError as error:
        raise _fail(f"cannot write {output}: {error.strerror or error}") from None
    err.print(f"wrote {output}", markup=False)


policy_app = typer.Typer(help="The disclosure policy results are protected with.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("show")
def policy_show(
    format: ErrorFormat = typer.Option(ErrorFormat.text, "--format", help="text or json."),
    threshold: int | None = THRESHOLD_OPTION,
    suppress_zero: bool = SUPPRESS_ZERO_OPTION,
    rounding_base: int | None = ROUNDING_OPTION,
    complementary: bool = COMPLEMENTARY_OPTION,
    attrition_differences: bool = DIFFERENCES_OPTION,
) -> None:
    """Print the active disclosure policy (the profile's, with any stricter options applied)."""
    from cohortql.report.counts import render_policy

    active = _policy(threshold, suppress_zero, rounding_base, complementary, attrition_differences)
    sys.stdout.write(render_policy(active.policy, active.source, format.value))


@app.command()
def sql(
    file: Path = typer.Argument(..., help="Definition file."),
    dialect: Dialect = typer.Option(Dialect.duckdb, "--dialect", help="Target SQL dialect."),
    cdm_schema: str | None = CDM_OPTION,
    vocab_schema: str | None = VOCAB_OPTION,
) -> None:
    """Print the SQL that would run (bigquery, snowflake, tsql, trino: compile-only)."""
    from cohortql.render.identifiers import IdentifierError
    from cohortql.transpile import TranspileError

    compiled = _compile_or_exit(file)
    try:
        sys.stdout.write(pipeline.rendered_sql(compiled, dialect.value, cdm_schema, vocab_schema))
    except IdentifierError as error:
        raise _fail(str(error), code=2) from None
    except CohortQLError as error:  # a construct the dialect cannot express (E201)
        _report_definition_errors([error], ErrorFormat.text)
        raise typer.Exit(1) from None
    except TranspileError as error:
        raise _fail(str(error)) from None


@app.command()
def concepts(
    file: Path = typer.Argument(..., help="Definition file."),
    db: str | None = DB_OPTION,
    cdm_schema: str | None = CDM_OPTION,
    vocab_schema: str | None = VOCAB_OPTION,
    timeout: int | None = TIMEOUT_OPTION,
) -> None:
    """List each concept set's resolved concepts, with names and record counts in the CDM."""
    from rich.table import Table

    from cohortql.execute.errors import DatabaseError

    compiled = _compile_or_exit(file)
    target = _target(db, cdm_schema, vocab_schema, timeout)
    try:
        with err.status(f"resolving concept sets on {target.description} ...", spinner="dots"):
            report = pipeline.concept_report(compiled, target)
    except DatabaseError as error:
        raise _fail(error.cause, error.hint) from None
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = 160  # piped or captured: keep concept names on one line
    for codeset, rows in report:
        table = Table(title=f"{codeset.name}: {len(rows)} concepts", title_justify="left")
        for column in ("concept_id", "name", "domain", "vocabulary", "standard", "records"):
            table.add_column(column, justify="right" if column in ("concept_id", "records") else "left")
        for row in rows:
            table.add_row(*row)
        console.print(table)


@app.command()
def load(
    source: str = typer.Argument(..., help="tiny, eunomia, a DuckDB file, or a directory of Parquet files."),
    db: str | None = typer.Option(None, "--db", help="Target database URL (postgresql://... or duckdb:///file)."),
    schema: str | None = typer.Option(None, "--schema", help="Schema to create and fill (with --db)."),
    parquet: Path | None = typer.Option(
        None, "--parquet", help="Instead of a database: write one Parquet file per table into this directory (Spark)."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Reload a schema that holds tables, or overwrite the Parquet files."
    ),
) -> None:
    """Load an OMOP CDM into a database schema (COPY, indexes, ANALYZE), or write it as Parquet files."""
    from cohortql.execute.errors import DatabaseError
    from cohortql.execute.loader import SourceError, export_parquet
    from cohortql.execute.loader import load as load_cdm
    from cohortql.render.identifiers import IdentifierError

    if (db is None) == (parquet is None):
        raise _fail("name one target: --db URL --schema NAME, or --parquet DIR", code=2)
    if db is not None and schema is None:
        raise _fail("--db needs --schema: the schema to create and fill", code=2)
    if parquet is not None and schema is not None:
        raise _fail("--schema goes with --db; a Parquet directory has no schemas", code=2)

    def progress(line: str) -> None:
        err.print(line, markup=False)

    try:
        if parquet is not None:
            export_parquet(source, parquet, replace, progress=progress)
        else:
            load_cdm(source, db, schema, replace, progress=progress)
    except (IdentifierError, SourceError) as error:
        raise _fail(getattr(error, "cause", str(error)), getattr(error, "hint", None), code=2) from None
    except DatabaseError as error:
        raise _fail(error.cause, error.hint) from None


# Governance (submit, withdraw, release, kpi, review, audit, users, admin): see docs/governance.md.
from cohortql.governance.admin_commands import admin_app  # noqa: E402  (listed after the pipeline commands)
from cohortql.governance.commands import register  # noqa: E402

register(app)
app.add_typer(admin_app, name="admin")  # here, not in register: admin_commands builds on commands


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="Circe cohort expression (ATLAS export, WebAPI, PhenotypeLibrary JSON)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the CohortQL here (else stdout)."),
    report: bool = typer.Option(
        False, "--report", help="List every unsupported feature, and the features ignored for counting."
    ),
) -> None:
    """Import an ATLAS / Circe cohort definition as canonical CohortQL (exit 1 if it cannot count the same)."""
    from cohortql.atlas import AtlasError, import_circe

    text = _read(file, lambda path: path.read_bytes().decode("utf-8"))
    try:
        result = import_circe(text, str(file))
    except AtlasError as error:
        if not report:
            error.problems = error.problems[:1]
        _report_definition_errors([error], ErrorFormat.text)
        if not report and len(error.problems) == 1:
            err.print("(--report lists every unsupported feature of the file)", markup=False)
        raise typer.Exit(1) from None
    if report:
        for ignored in result.ignored:
            err.print(f"ignored for counting: {ignored.feature} at {ignored.path}: {ignored.why}", markup=False)
    if output is None:
        sys.stdout.write(result.text)
    else:
        output.write_text(result.text, encoding="utf-8")
        err.print(f"wrote {output}", markup=False)


@app.command()
def export(
    file: Path = typer.Argument(..., help="Definition file."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the Circe JSON here (else stdout)."),
) -> None:
    """Export a definition as a Circe cohort expression (JSON that ATLAS and ohdsi-circepy read)."""
    from cohortql.atlas import AtlasError
    from cohortql.atlas.export import export_circe

    compiled = _compile_or_exit(file)
    try:
        expression = export_circe(compiled.definition, compiled.plan, str(file))
    except AtlasError as error:
        _report_definition_errors([error], ErrorFormat.text)
        raise typer.Exit(1) from None
    text = json.dumps(expression, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}", markup=False)


fixtures_app = typer.Typer(help="Synthetic OMOP data for tests and benchmarks.", no_args_is_help=True)
app.add_typer(fixtures_app, name="fixtures")


@fixtures_app.command("generate")
def fixtures_generate(
    persons: int = typer.Option(..., "--persons", min=1, help="Number of persons."),
    seed: int = typer.Option(42, "--seed", help="Seed: the same seed gives the same data."),
    out: str = typer.Option(..., "--out", help="FILE.duckdb, or DIR/ for one Parquet file per table."),
) -> None:
    """Generate a synthetic OMOP CDM 5.4 of hospital groups (deterministic for a seed)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from cohortql.fixtures.synthetic import generate

    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TextColumn("persons"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("generate", total=persons)
            path = generate(out, persons, seed, progress=lambda done, _total: bar.update(task, completed=done))
    except ValueError as error:
        raise _fail(str(error), code=2) from None
    except OSError as error:
        raise _fail(f"cannot write {out}: {error.strerror or error}") from None
    err.print(f"wrote {path}: {persons:,} persons, seed {seed}", markup=False)


@fixtures_app.command("scale-eunomia")
def fixtures_scale_eunomia(
    copies: int = typer.Option(..., "--copies", min=1, help="Number of copies of Eunomia."),
    out: str = typer.Option(..., "--out", help="DuckDB file to write."),
) -> None:
    """Replicate the Eunomia demo CDM N times, each copy with new person and event ids."""
    from cohortql.fixtures.scale_eunomia import scale_eunomia

    try:
        with err.status(f"writing {copies} copies of Eunomia ...", spinner="dots"):
            path = scale_eunomia(out, copies)
    except ValueError as error:
        raise _fail(str(error), code=2) from None
    except OSError as error:
        raise _fail(f"cannot write {out}: {error.strerror or error}") from None
    err.print(f"wrote {path}: {copies} copies of Eunomia", markup=False)


from cohortql import cli_whatif  # noqa: E402  (its commands use the helpers above)

cli_whatif.register(app)


def main() -> None:
    """Console entry point: never shows a traceback for bad input."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
