"""Renders a protected count result; accepts nothing else."""

from __future__ import annotations

import csv
import io
import json

from rich.console import Console
from rich.table import Table

from cohortql.protect.result import ProtectedResult

FORMATS = ("table", "json", "csv", "markdown")


def _require_protected(result) -> ProtectedResult:
    if not isinstance(result, ProtectedResult):
        raise TypeError(f"the report layer only takes a ProtectedResult, not {type(result).__name__}")
    return result


def _percent_of_previous(previous: int | None, current: int | None) -> str:
    if previous is None or current is None or previous == 0:
        return "-"
    return f"{100 * current / previous:.1f}%"


def _rows(result: ProtectedResult) -> list[list[str]]:
    rows = []
    previous = None
    for step in result.attrition:
        label = step.rule if step.kind != "exclude" else f"{step.rule} (exclusion)"
        rows.append(
            [
                label,
                step.persons.display,
                "" if step.kind == "entry" else _percent_of_previous(previous, step.persons.value),
                step.gain.display if step.gain else "",
            ]
        )
        previous = step.persons.value
    return rows


HEADERS = ["rule", "persons remaining", "% of previous", "gain if dropped"]


def render_table(result: ProtectedResult) -> str:
    result = _require_protected(result)
    table = Table(title=result.title, title_justify="left")
    for header in HEADERS:
        table.add_column(header, justify="left" if header == "rule" else "right")
    for row in _rows(result):
        table.add_row(*row)
    console = Console(record=True, width=100, file=io.StringIO(), highlight=False)
    console.print(table)
    console.print(f"final cohort: {result.final.display} persons ({result.entries.display} entry events)")
    console.print(f"database: {result.database['description']}")
    console.print(f"policy: counts below {result.policy.threshold} are shown as {result.policy.suppressed_text}")
    console.print(f"fingerprint: {result.fingerprint}")
    return console.export_text()


def render_json(result: ProtectedResult) -> str:
    return json.dumps(_require_protected(result).to_dict(), indent=2) + "\n"


def render_csv(result: ProtectedResult) -> str:
    result = _require_protected(result)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["step", "rule", "kind", "persons", "gain_if_dropped"])
    for index, step in enumerate(result.attrition):
        writer.writerow([index, step.rule, step.kind, step.persons.display, step.gain.display if step.gain else ""])
    return buffer.getvalue()


def render_markdown(result: ProtectedResult) -> str:
    result = _require_protected(result)
    lines = [f"## {result.title}" if result.title else "## Cohort count", ""]
    lines.append("| " + " | ".join(HEADERS) + " |")
    lines.append("|---|---:|---:|---:|")
    for row in _rows(result):
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    lines += [
        "",
        f"Final cohort: **{result.final.display}** persons ({result.entries.display} entry events).",
        f"Database: {result.database['description']}.",
        f"Disclosure policy: counts below {result.policy.threshold} are shown as `{result.policy.suppressed_text}`.",
        f"Fingerprint: `{result.fingerprint}`.",
    ]
    return "\n".join(lines) + "\n"


RENDERERS = {"table": render_table, "json": render_json, "csv": render_csv, "markdown": render_markdown}


def render(result: ProtectedResult, fmt: str) -> str:
    return RENDERERS[fmt](result)
