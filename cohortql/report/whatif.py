"""Renders what-if releases: variants side by side, a sweep as a table and a chart, rule impact."""

from __future__ import annotations

import csv
import io
import json

from rich.console import Console
from rich.table import Table

from cohortql.protect.result import Cell
from cohortql.protect.variants import ProtectedVariants
from cohortql.report.counts import CSV_NUMBERS, csv_cell
from cohortql.report.terminal import print_table, recording_console

FORMATS = ("table", "json", "csv")
_CHART_WIDTH = 40


def _difference(first: Cell | None, other: Cell | None) -> str:
    """A difference of two released numbers (itself released: both sides are)."""
    if first is None or other is None or first.value is None or other.value is None:
        return "-"
    return f"{other.value - first.value:+,}"


def _steps(released: ProtectedVariants) -> tuple[list[str], list[dict[str, Cell]]]:
    """Rule names in first-seen order (entry first, matched by name) and each variant's cells by name."""
    names: list[str] = []
    by_variant = []
    for variant in released.variants:
        cells = {}
        for step in variant.attrition:
            if step.rule not in names:
                names.append(step.rule)
            cells[step.rule] = step.persons
        by_variant.append(cells)
    return names, by_variant


def _console() -> Console:
    return recording_console(160)


def _footer(console: Console, released: ProtectedVariants) -> None:
    console.print(f"database: {released.database['description']}")
    console.print(f"policy: {released.policy.describe()} (every number above decided as one release)")
    if released.policy_note:
        console.print(f"policy note: {released.policy_note}", markup=False)


def render_variants_table(released: ProtectedVariants, title: str = "attrition by variant") -> str:
    names, by_variant = _steps(released)
    table = Table()
    table.add_column("rule")
    for index in range(len(released.variants)):
        table.add_column(f"[{index + 1}] persons", justify="right")
        if index:
            table.add_column(f"[{index + 1}] - [1]", justify="right")
    for name in names:
        row = [name]
        for index, cells in enumerate(by_variant):
            cell = cells.get(name)
            row.append(cell.display if cell else "(no such rule)")
            if index:
                row.append(_difference(by_variant[0].get(name), cell))
        table.add_row(*row)
    final = ["final"]
    for index, variant in enumerate(released.variants):
        final.append(variant.final.display)
        if index:
            final.append(_difference(released.variants[0].final, variant.final))
    table.add_row(*final)
    console = _console()
    for index, variant in enumerate(released.variants):
        console.print(f"[{index + 1}] {variant.label}")
    print_table(console, table, title)
    _footer(console, released)
    return console.export_text()


def render_variants_csv(released: ProtectedVariants) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["variant", "label", "step", "rule", "kind", *CSV_NUMBERS])
    for index, variant in enumerate(released.variants, start=1):
        for step_index, step in enumerate(variant.attrition):
            numbers = [*csv_cell(step.persons), *csv_cell(step.gain)]
            writer.writerow([index, variant.label, step_index, step.rule, step.kind, *numbers])
    return buffer.getvalue()


def render_variants(released: ProtectedVariants, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(released.to_dict(), indent=2) + "\n"
    if fmt == "csv":
        return render_variants_csv(released)
    return render_variants_table(released)


def _bar(value: int | None, largest: int) -> str:
    if value is None or largest <= 0:
        return ""
    return "█" * max(1 if value else 0, round(_CHART_WIDTH * value / largest))


def render_sweep(result, fmt: str) -> str:
    """A sweep (cohortql.whatif.app.SweepResult): the final count at each value."""
    finals = result.finals()
    released = result.released
    if fmt == "json":
        body = {
            "rule": result.rule,
            "number": result.number,
            "values": [{"value": format(value, "f"), "final": cell.to_dict()} for value, cell in finals],
            "release": released.to_dict(),
        }
        return json.dumps(body, indent=2) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["rule", "number", "value", "final", "final_display"])
        for value, cell in finals:
            writer.writerow([result.rule, result.number, format(value, "f"), *csv_cell(cell)])
        return buffer.getvalue()
    largest = max((cell.value or 0 for _, cell in finals), default=0)
    table = Table()
    table.add_column("value", justify="right")
    table.add_column("final persons", justify="right")
    table.add_column("")
    for value, cell in finals:
        table.add_row(format(value, "f"), cell.display, _bar(cell.value, largest))
    console = _console()
    print_table(console, table, f'final count as "{result.rule}" has {result.number} replaced')
    console.print(f"as written ({result.number}): {released.variants[-1].final.display} persons")
    _footer(console, released)
    return console.export_text()


def render_impact(result, fmt: str) -> str:
    """Rule impact (cohortql.whatif.app.ImpactResult)."""
    released = result.released
    if fmt == "json":
        rows = [
            {
                "rule": row.rule,
                "kind": row.kind,
                "shapley": row.shapley.to_dict(),
                "excluded_alone": row.alone.to_dict() if row.alone else None,
                "final_without_rule": row.final_without.to_dict(),
                "gain_if_dropped": row.gain_if_dropped.to_dict(),
            }
            for row in result.rows
        ]
        final = released.variants[0].final.to_dict()
        return json.dumps({"final": final, "rules": rows, "release": released.to_dict()}, indent=2) + "\n"
    headers = ["rule", "kind", "shapley value", "excluded by it alone", "final without it", "gain if dropped"]
    values = [
        [row.rule, row.kind, row.shapley.display, row.alone.display if row.alone else "",
         row.final_without.display, row.gain_if_dropped.display]
        for row in result.rows
    ]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        names = ("shapley", "excluded_alone", "final_without_rule", "gain_if_dropped")  # as in the JSON
        writer.writerow(["rule", "kind", *(f"{n}{suffix}" for n in names for suffix in ("", "_display"))])
        for row in result.rows:
            cells = (row.shapley, row.alone, row.final_without, row.gain_if_dropped)
            writer.writerow([row.rule, row.kind, *(part for cell in cells for part in csv_cell(cell))])
        return buffer.getvalue()
    table = Table()
    for index, header in enumerate(headers):
        table.add_column(header, justify="left" if index < 2 else "right")
    for row in values:
        table.add_row(*row)
    console = _console()
    print_table(console, table, "impact of each rule on the final count")
    console.print(f"final cohort: {released.variants[0].final.display} persons")
    console.print("shapley value: the rule's fair share of the persons the rules remove (docs/whatif.md)")
    _footer(console, released)
    return console.export_text()
