"""Commands on a definition file alone (no database): check, fmt, explain, sql, import, export."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer

from cohortql import pipeline
from cohortql.cli.common import (
    CDM_OPTION,
    TIMEOUT_OPTION,
    VOCAB_OPTION,
    ErrorFormat,
    compile_or_exit,
    err,
    expected_errors,
    fail,
    open_definition,
    read_definition,
    report_definition_errors,
    target_from_options,
    write_whole,
)
from cohortql.diagnostics import CohortQLError


def check(
    files: list[Path] = typer.Argument(..., help="Definition files (.cohort)."),
    format: ErrorFormat = typer.Option(ErrorFormat.text, "--format", help="Error output: text or json."),
    db: str | None = typer.Option(
        None, "--db", help="Also look every concept id up in this database's vocabulary (unknown: E401)."),
    cdm_schema: str | None = CDM_OPTION,
    vocab_schema: str | None = VOCAB_OPTION,
    timeout: int | None = TIMEOUT_OPTION,
) -> None:
    """Check definitions for syntax and semantic errors (exit 1 if any); with --db, their concept ids too."""
    if db is None and (cdm_schema or vocab_schema):
        raise fail("--cdm-schema and --vocab-schema go with --db", "name the database: --db URL", code=2)
    target = target_from_options(db, cdm_schema, vocab_schema, timeout) if db else None
    errors = []
    for path in files:
        try:
            compiled = pipeline.compile_source(open_definition(path))
            if target is not None:
                with expected_errors():  # a database failure: one line, exit 1
                    unknown = pipeline.unknown_concepts(compiled, target)
                if unknown:
                    raise CohortQLError(compiled.source, unknown)
        except CohortQLError as error:
            errors.append(error)
    if errors:
        report_definition_errors(errors, format)
        raise typer.Exit(1)
    if format is ErrorFormat.json:
        print(json.dumps({"errors": []}))
    else:
        where = f", every concept id in the vocabulary of {target.description}" if target else ""
        err.print(f"ok: {len(files)} definition{'s' if len(files) != 1 else ''} checked{where}", markup=False)


def fmt(
    files: list[Path] = typer.Argument(..., help="Definition files to rewrite in canonical form."),
    check_only: bool = typer.Option(False, "--check", help="Only report files that are not formatted."),
) -> None:
    """Rewrite definitions in canonical form (comments are kept)."""
    from cohortql.format import format_definition

    unformatted, errors = [], []
    for path in files:
        try:
            source = open_definition(path)
            formatted = format_definition(pipeline.parse_source(source))
        except CohortQLError as error:
            errors.append(error)
            continue
        if formatted != source.text:
            unformatted.append(path)
            if not check_only:
                write_whole(path, formatted)
    if errors:
        report_definition_errors(errors, ErrorFormat.text)
        raise typer.Exit(1)
    for path in unformatted:
        err.print(f"{'would reformat' if check_only else 'reformatted'} {path}", markup=False)
    if check_only and unformatted:
        raise typer.Exit(1)


def explain(file: Path = typer.Argument(..., help="Definition file.")) -> None:
    """Print the definition in plain English for a data steward (reads the file only)."""
    from cohortql.report.explain import concept_labels, explain_plan

    compiled = compile_or_exit(file)
    sys.stdout.write(explain_plan(compiled.plan, concept_labels(compiled.definition)))


class Dialect(StrEnum):
    duckdb = "duckdb"
    postgres = "postgres"
    spark = "spark"
    bigquery = "bigquery"
    snowflake = "snowflake"
    tsql = "tsql"
    trino = "trino"


def sql(
    file: Path = typer.Argument(..., help="Definition file."),
    dialect: Dialect = typer.Option(Dialect.duckdb, "--dialect", help="Target SQL dialect."),
    cdm_schema: str | None = CDM_OPTION,
    vocab_schema: str | None = VOCAB_OPTION,
) -> None:
    """Print the SQL that would run (bigquery, snowflake, tsql, trino: compile-only)."""
    from cohortql.render.identifiers import IdentifierError

    compiled = compile_or_exit(file)
    try:
        with expected_errors():  # E201: a construct the dialect cannot express
            sys.stdout.write(pipeline.rendered_sql(compiled, dialect.value, cdm_schema, vocab_schema))
    except IdentifierError as error:
        raise fail(str(error), code=2) from None


def import_(
    file: Path = typer.Argument(..., help="Circe cohort expression (ATLAS export, WebAPI, PhenotypeLibrary JSON)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the CohortQL here (else stdout)."),
    report: bool = typer.Option(
        False, "--report", help="List every unsupported feature, and the features ignored for counting."
    ),
) -> None:
    """Import an ATLAS / Circe cohort definition as canonical CohortQL (exit 1 if it cannot count the same)."""
    from cohortql.atlas import AtlasError, import_circe

    text = read_definition(file, pipeline.read_text).text
    try:
        result = import_circe(text, str(file))
    except AtlasError as error:
        if not report:
            error.problems = error.problems[:1]
        report_definition_errors([error], ErrorFormat.text)
        if not report and len(error.problems) == 1:
            err.print("(--report lists every unsupported feature of the file)", markup=False)
        raise typer.Exit(1) from None
    if report:
        for ignored in result.ignored:
            err.print(f"ignored for counting: {ignored.feature} at {ignored.path}: {ignored.why}", markup=False)
    if output is None:
        sys.stdout.write(result.text)
    else:
        write_whole(output, result.text)
        err.print(f"wrote {output}", markup=False)


def export(
    file: Path = typer.Argument(..., help="Definition file."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the Circe JSON here (else stdout)."),
) -> None:
    """Export a definition as a Circe cohort expression (JSON that ATLAS and ohdsi-circepy read)."""
    from cohortql.atlas import AtlasError
    from cohortql.atlas.export import export_circe

    compiled = compile_or_exit(file)
    try:
        expression = export_circe(compiled.definition, compiled.plan, str(file))
    except AtlasError as error:
        report_definition_errors([error], ErrorFormat.text)
        raise typer.Exit(1) from None
    text = json.dumps(expression, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        write_whole(output, text)
        err.print(f"wrote {output}", markup=False)


STARTER = Path(__file__).with_name("starter.cohort")  # commented, `check`- and `fmt`-clean


def init(
    file: Path = typer.Argument(Path("cohort.cohort"), help="Where to write the starter definition."),
    force: bool = typer.Option(False, "--force", help="Overwrite the file if it exists."),
) -> None:
    """Write a commented starter definition to edit (entry, rules, breakdown)."""
    if file.exists() and not force:
        raise fail(f"{file} exists", "choose another name, or overwrite it with --force", code=2)
    try:
        file.write_text(STARTER.read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as error:
        raise fail(f"cannot write {file}: {error.strerror or error}") from None
    err.print(f"wrote {file}: edit it, then `cohortql check {file}` and `cohortql count {file}`", markup=False)


def register(app: typer.Typer) -> None:
    app.command()(init)
    for command in (check, fmt, explain, sql):
        app.command()(command)
    app.command("import")(import_)
    app.command()(export)
