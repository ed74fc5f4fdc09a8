"""`cohortql concepts`: a definition's resolved concept sets (`list`), and the vocabulary searched
(`search`) and looked up (`show`), every record and person count protected."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from typer.core import TyperGroup

from cohortql import pipeline
from cohortql.cli.common import (
    DatabaseOptions,
    PolicyOptions,
    choices,
    command_group,
    compile_or_exit,
    err,
    expected_errors,
    fail,
    option_groups,
    working,
)
from cohortql.omop import CONCEPT_DOMAINS

LookupFormat = choices("LookupFormat", ("table", "json", "csv"))  # cohortql/report/vocabulary.py
Domain = choices("Domain", tuple(CONCEPT_DOMAINS))  # cohortql/omop.py: the domains with a table of records

LIMIT_OPTION = typer.Option(25, "--limit", min=1, max=1000, help="Show at most N concepts (per list for show).")
FORMAT_OPTION = typer.Option(LookupFormat.table, "--format", help="table, json or csv.")


class _ListByDefault(TyperGroup):
    """`cohortql concepts FILE` is `cohortql concepts list FILE`: `concepts` was that one command
    before it became a group, and definitions, scripts and docs call it so. Whatever is not a
    command's name (nor --help) starts the arguments of `list`."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["list", *args]
        return super().parse_args(ctx, args)


concepts_app = command_group(
    "Concepts: a definition's resolved concept sets (`concepts FILE` = `concepts list FILE`), "
    "the vocabulary searched by name or code, one concept looked up.", cls=_ListByDefault)


@concepts_app.command("list")
@option_groups
def list_concepts(
    file: Path = typer.Argument(..., help="Definition file."),
    *,
    database: DatabaseOptions,
) -> None:
    """List each concept set's resolved concepts, with names and record counts in the CDM."""
    from rich.table import Table

    compiled = compile_or_exit(file)
    target = database.target()
    with expected_errors(), working(f"resolving concept sets on {target.description} ..."):
        report = pipeline.concept_report(compiled, target)
    from cohortql.report.terminal import print_table

    # Concept names from the vocabulary are printed as written: no markup, no emoji codes.
    console = Console(highlight=False, soft_wrap=False, markup=False, emoji=False)
    if not console.is_terminal:
        console.width = 160  # piped or captured: keep concept names on one line
    for codeset, rows in report:
        table = Table()
        for column in ("concept_id", "name", "domain", "vocabulary", "standard", "records"):
            table.add_column(column, justify="right" if column in ("concept_id", "records") else "left")
        for row in rows:
            table.add_row(*row)
        print_table(console, table, f"{codeset.name}: {len(rows)} concepts")


def _check_vocabulary(given: str, target) -> None:
    """A vocabulary the CDM holds concepts of (case aside), else a usage error listing those it holds."""
    with expected_errors():
        known = pipeline.vocabularies(target)
    if given.lower() not in {v.lower() for v in known}:
        raise fail(f"unknown vocabulary {given!r} in {target.description}", "valid values: " + ", ".join(known), 2)


@concepts_app.command("search")
@option_groups
def search(
    text: str = typer.Argument(..., metavar="TEXT", help="Words of a concept's name, or a concept code (e.g. E11.9)."),
    domain: Domain | None = typer.Option(None, "--domain", case_sensitive=False, help="Only concepts of this domain."),
    vocabulary: str | None = typer.Option(None, "--vocabulary", help="Only concepts of this vocabulary (e.g. SNOMED)."),
    standard: bool = typer.Option(False, "--standard", help="Only standard concepts."),
    limit: int = LIMIT_OPTION,
    format: LookupFormat = FORMAT_OPTION,
    *,
    database: DatabaseOptions,
    policy: PolicyOptions,
) -> None:
    """Search the vocabulary by name and code: the best matches with their records and persons in the CDM."""
    from cohortql.render.vocabulary import ConceptSearch, SearchError
    from cohortql.report.vocabulary import render_search

    try:
        asked = ConceptSearch(text, domain.value if domain else None, vocabulary, standard)
    except SearchError as error:
        raise fail(str(error), "give one to 20 words of a concept's name, or its code", code=2) from None
    active_policy, note = policy.with_floor_note()
    target = database.target()
    if vocabulary is not None:
        _check_vocabulary(vocabulary, target)
    with expected_errors(), working(f"searching the vocabulary of {target.description} ..."):
        result = pipeline.search_concepts(asked, target, active_policy, limit, note)
    if not result.hits.items and format is not LookupFormat.table:
        err.print(f"no concept matches {text!r}", markup=False)
    sys.stdout.write(render_search(result, format.value))


@concepts_app.command("show")
@option_groups
def show(
    concept_id: int = typer.Argument(..., min=1, max=2**63 - 1, metavar="ID", help="A concept id."),
    limit: int = LIMIT_OPTION,
    format: LookupFormat = FORMAT_OPTION,
    *,
    database: DatabaseOptions,
    policy: PolicyOptions,
) -> None:
    """One concept: its row, ancestors, descendants and mapped source codes, with records and persons."""
    from cohortql.report.vocabulary import render_detail

    active_policy, note = policy.with_floor_note()
    target = database.target()
    with expected_errors(), working(f"looking up concept {concept_id} in {target.description} ..."):
        detail = pipeline.show_concept(concept_id, target, active_policy, limit, note)
    if detail is None:
        raise fail(f"concept {concept_id} is not in the vocabulary of {target.description}",
                   "find concepts by name or code with `cohortql concepts search TEXT`")
    sys.stdout.write(render_detail(detail, format.value))


def register(app: typer.Typer) -> None:
    app.add_typer(concepts_app, name="concepts")
