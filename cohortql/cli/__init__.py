"""The command line, one module per group of commands; each parses options, calls the pipeline,
the what-if engine or the governance workflow, prints, and maps errors to exit codes (common.py).

Exit codes: 0 success, 1 a definition or database error (or a refusal), 2 a usage error,
130 interrupted. Every command module imports the stages it runs inside the command, so that
`cohortql --help` and `check` start quickly.
"""

from __future__ import annotations

import typer

from cohortql.cli import admin, concepts, counting, data, definitions, governance, whatif

app = typer.Typer(
    help="Cohort feasibility counts on OMOP CDM warehouses.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    rich_markup_mode=None,  # plain help, as command_group's
    pretty_exceptions_enable=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        from cohortql.version import __version__

        print(f"cohortql {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version and exit."),
) -> None:
    """Cohort feasibility counts on OMOP CDM warehouses."""


definitions.register(app)  # check, fmt, explain, sql, import, export
counting.register(app)  # count, report, policy
concepts.register(app)  # concepts list, search, show (`concepts FILE` is `concepts list FILE`)
whatif.register(app)  # compare, whatif, sweep, impact, watch, cache
governance.register(app)  # submit, withdraw, release, kpi, review, audit, users (docs/governance.md)
app.add_typer(admin.admin_app, name="admin")
data.register(app)  # load, fixtures


def main() -> None:
    """Console entry point: never shows a traceback for bad input (the edge guard: cli/edge.py)."""
    from cohortql.cli.edge import run

    run(app)
