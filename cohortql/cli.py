"""The command line: parses options, calls the pipeline, prints, maps errors to exit codes.

Exit codes: 0 success, 1 a definition or database error, 2 a usage error.
"""

from __future__ import annotations

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


def _read(path: Path):
    try:
        return pipeline.read_source(path)
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
                quote_identifier(schema)
        return resolve_target(db, cdm_schema, vocab_schema, timeout)
    except IdentifierError as error:
        raise _fail(str(error), code=2) from None
    except DatabaseError as error:
        raise _fail(error.cause, error.hint) from None


@app.command()
def count(
    file: Path = typer.Argument(..., help="Definition file."),
    db: str | None = DB_OPTION,
    cdm_schema: str | None = CDM_OPTION,
    vocab_schema: str | None = VOCAB_OPTION,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, json, csv or markdown."),
    timeout: int | None = TIMEOUT_OPTION,
) -> None:
    """Count the cohort: attrition per rule, gains, final persons; small counts suppressed."""
    from cohortql.execute.errors import DatabaseError
    from cohortql.report.counts import render
    from cohortql.transpile import TranspileError

    compiled = _compile_or_exit(file)
    target = _target(db, cdm_schema, vocab_schema, timeout)
    try:
        with err.status(f"counting on {target.description} ...", spinner="dots"):
            result = pipeline.run(compiled, target)
    except DatabaseError as error:
        raise _fail(error.cause, error.hint) from None
    except TranspileError as error:
        raise _fail(str(error)) from None
    if format is OutputFormat.table:
        err.print(f"answered by: {target.description}", markup=False)
    sys.stdout.write(render(result, format.value))


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


def main() -> None:
    """Console entry point: never shows a traceback for bad input."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
