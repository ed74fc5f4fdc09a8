"""The command line: parses options, calls the pipeline, prints, maps errors to exit codes.

Exit codes: 0 success, 1 a definition or database error, 2 a usage error.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
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


class ErrorFormat(str, Enum):
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
    print(explain_plan(compiled.plan))


def main() -> None:
    """Console entry point: never shows a traceback for bad input."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
