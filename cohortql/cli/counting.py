"""Commands that count on the database: count, report, and the policy they are protected with."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cohortql import pipeline
from cohortql.cli.common import (
    CacheOptions,
    DatabaseOptions,
    ErrorFormat,
    PolicyOptions,
    ReportLanguage,
    breakdown_dimensions,
    cache_warnings,
    choices,
    command_group,
    compile_or_exit,
    err,
    expected_errors,
    fail,
    option_groups,
    warn_unknown_concepts,
    working,
)

OutputFormat = choices("OutputFormat", ("table", "json", "csv", "markdown"))  # cohortql/report/counts.py
ReportPlace = choices("ReportPlace", ("site", "site_group"))  # cohortql/protect/series.py


@option_groups
def count(
    file: Path = typer.Argument(..., help="Definition file."),
    *,
    database: DatabaseOptions,
    format: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, json, csv or markdown."),
    policy: PolicyOptions,
    by: list[str] | None = typer.Option(
        None, "--by", metavar="DIMENSION[,DIMENSION]",
        help="Break the final cohort down by site, site_group, sex, age5, age10, year, quarter or month "
        "(comma-separated or repeated; at most two). Default: the definition's `breakdown by`."),
    cache: CacheOptions,
) -> None:
    """Count the cohort: attrition per rule, gains, final persons, breakdowns; small counts suppressed."""
    from cohortql.report.counts import render

    dimensions = breakdown_dimensions(by)
    compiled = compile_or_exit(file)
    active_policy, note = policy.with_floor_note()
    target = database.target()
    counter = None if cache.no_cache else cache.counter(target)
    with expected_errors(), working(f"counting on {target.description} ..."), cache_warnings():
        result = pipeline.run(compiled, target, active_policy, by=dimensions, policy_note=note, cache=counter)
    warn_unknown_concepts(compiled, target)
    if format is OutputFormat.table:
        err.print(f"answered by: {target.description}", markup=False)
    sys.stdout.write(render(result, format.value))


@option_groups
def report(
    file: Path = typer.Argument(..., help="Definition file."),
    output: Path = typer.Option(..., "--output", "-o", help="FILE.html (self-contained page) or FILE.pdf."),
    by: ReportPlace = typer.Option(ReportPlace.site, "--by", help="Sites (with site-group subtotals) or site groups."),
    lang: ReportLanguage = typer.Option(ReportLanguage.en, "--lang", help="Language of the report: en or fr."),
    target: int | None = typer.Option(
        None, "--target", min=1, max=10_000_000, help="Patients to enrol: the time to reach it."),
    enrol_fraction: float | None = typer.Option(
        None, "--enrol-fraction",
        help="Share of newly eligible patients who enrol (default 0.35, see docs/report.md)."),
    *,
    database: DatabaseOptions,
    policy: PolicyOptions,
    cache: CacheOptions,
) -> None:
    """Write the sponsor's feasibility report (HTML or PDF): counts, charts, newly eligible over time, forecast."""
    from cohortql.report.document import SUFFIXES, prepare_report, report_html, write_report
    from cohortql.report.forecast import DEFAULT_ENROL_FRACTION
    from cohortql.report.pdf import PdfError

    if output.suffix.lower() not in SUFFIXES:
        raise fail(f"cannot tell the format of {output}", "name the output FILE.html or FILE.pdf", code=2)
    if enrol_fraction is not None and not 0 < enrol_fraction <= 1:
        raise fail(f"--enrol-fraction {enrol_fraction} is not a share", "give a number above 0 and at most 1", 2)
    compiled = compile_or_exit(file)
    active_policy = policy.active().policy
    target_db = database.target()
    counter = None if cache.no_cache else cache.counter(target_db)
    ready = prepare_report()  # the page's libraries load while the database counts
    with expected_errors(), working(f"counting on {target_db.description} ..."), cache_warnings():
        answer = pipeline.run_report(compiled, target_db, active_policy, place=by.value, cache=counter)
    warn_unknown_concepts(compiled, target_db)
    try:
        with working(f"writing {output} ..."):
            ready()
            html = report_html(answer, compiled, answered_by=target_db.description, lang=lang.value, target=target,
                               enrol_fraction=enrol_fraction or DEFAULT_ENROL_FRACTION)
            write_report(html, output)
    except PdfError as error:
        raise fail(error.cause, error.hint) from None
    except OSError as error:
        raise fail(f"cannot write {output}: {error.strerror or error}") from None
    err.print(f"wrote {output}", markup=False)


policy_app = command_group("The disclosure policy results are protected with.")


@policy_app.command("show")
@option_groups
def policy_show(
    format: ErrorFormat = typer.Option(ErrorFormat.text, "--format", help="text or json."),
    *,
    policy: PolicyOptions,
) -> None:
    """Print the active disclosure policy (the profile's, with any stricter options applied)."""
    from cohortql.report.counts import render_policy

    active = policy.active()
    sys.stdout.write(render_policy(active.policy, active.source, format.value))


def register(app: typer.Typer) -> None:
    for command in (count, report):
        app.command()(command)
    app.add_typer(policy_app, name="policy")
