"""The feasibility report as a file: the protected release -> the page -> .html or .pdf by suffix."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from cohortql.report.explain import concept_labels, explain_plan
from cohortql.report.feasibility import build_report
from cohortql.report.forecast import DEFAULT_ENROL_FRACTION

SUFFIXES = (".html", ".pdf")


def prepare_report() -> Callable[[], None]:
    """Starts loading what writing the page needs (matplotlib, the font cut, the template) in a thread,
    to overlap the query (the database works outside the interpreter's lock); returns the wait for it.
    Nothing in it depends on the counts."""
    def work() -> None:
        from cohortql.report.html import prepare

        with suppress(Exception):  # anything that fails here fails again, and is reported, when the page is written
            prepare()

    thread = threading.Thread(target=work, name="cohortql-report-prepare")
    thread.start()
    return thread.join


def report_html(answer, compiled, *, answered_by: str, lang: str = "en",
                enrol_fraction: float = DEFAULT_ENROL_FRACTION, target: int | None = None,
                stamp: dict | None = None) -> str:
    """`answer` is a `pipeline.ReportAnswer`: one protected release and what the report says of its data."""
    from cohortql.report.html import render_html

    definition = explain_plan(compiled.plan, concept_labels(compiled.definition), lang=lang)
    report = build_report(
        answer.result, answer.layout, metadata=dict(compiled.plan.metadata), definition=definition,
        cdm_source=answer.cdm_source, answered_by=answered_by, lang=lang, enrol_fraction=enrol_fraction,
        target=target, stamp=stamp)
    return render_html(report)


def write_report(html: str, output: Path) -> None:
    """Writes the page, or prints it to PDF, completely or not at all (a file beside it renamed
    over it; removed on any failure, Ctrl-C included); raises `pdf.PdfError` or `OSError`."""
    partial = output.with_name(f".{output.name}.partial")
    try:
        if output.suffix.lower() == ".pdf":
            from cohortql.report.pdf import html_to_pdf

            html_to_pdf(html, partial)
        else:
            partial.write_text(html, encoding="utf-8")
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
