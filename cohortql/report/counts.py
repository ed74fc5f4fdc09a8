"""Renders a protected count result (and the policy it was protected with); accepts nothing else."""

from __future__ import annotations

import csv
import io
import json

from rich.table import Table

from cohortql.protect.policy import DisclosurePolicy
from cohortql.protect.result import Cell, ProtectedResult, ProtectedTable, TableCell
from cohortql.report.terminal import print_table, recording_console

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


_UNKNOWN = {"site": "unknown site", "site_group": "unknown site group", "sex": "unknown sex"}
_BAND_WIDTH = {"age5": 5, "age10": 10}


def _value_label(stratum: str, value) -> str:
    if value is None:
        return _UNKNOWN.get(stratum, "unknown")
    if stratum in _BAND_WIDTH:
        return f"{value}-{value + _BAND_WIDTH[stratum] - 1}"
    return str(value)


def _coordinate(coord: tuple[str, object] | None, stratum: str) -> str:
    if coord is None:
        return "total"
    name, value = coord
    text = _value_label(name, value)
    return text if name == stratum else f"{text} (group total)"


def _table_rows(table: ProtectedTable) -> list[list[str]]:
    """Long form: one row per cell or margin, a column per stratum, then persons."""

    def row(cell: TableCell) -> list[str]:
        return [_coordinate(c, s) for c, s in zip(cell.coords, table.strata, strict=True)] + [cell.count.display]

    return [row(cell) for cell in table.cells]


def _grid(table: ProtectedTable) -> tuple[list[str], list[list[str]]]:
    """A one-way table as rows; a two-way table as a cross-tab with row and column totals."""
    if len(table.strata) != 2:
        return [*table.strata, "persons"], _table_rows(table)
    rows: dict[str, dict[str, str]] = {}
    columns: list[str] = []
    for cell in table.cells:
        row_label = _coordinate(cell.coords[0], table.strata[0])
        column_label = _coordinate(cell.coords[1], table.strata[1])
        if column_label not in columns:
            columns.append(column_label)
        rows.setdefault(row_label, {})[column_label] = cell.count.display
    header = [f"{table.strata[0]} \\ {table.strata[1]}", *columns]
    return header, [[label, *(cells.get(c, "") for c in columns)] for label, cells in rows.items()]


def _table_title(table: ProtectedTable) -> str:
    return "final cohort by " + " and ".join(table.strata)


def render_table(result: ProtectedResult) -> str:
    result = _require_protected(result)
    table = Table()
    for header in HEADERS:
        table.add_column(header, justify="left" if header == "rule" else "right")
    for row in _rows(result):
        table.add_row(*row)
    console = recording_console(140)
    print_table(console, table, result.title)
    console.print(f"final cohort: {result.final.display} persons ({result.entries.display} entry events)")
    for breakdown in result.breakdowns:
        header, rows = _grid(breakdown)
        grid = Table()
        for index, name in enumerate(header):
            grid.add_column(name, justify="left" if index == 0 else "right")
        for row in rows:
            grid.add_row(*row)
        print_table(console, grid, _table_title(breakdown))
    console.print(f"database: {result.database['description']}")
    console.print(f"policy: {result.policy.describe()}")
    if result.policy_note:
        console.print(f"policy note: {result.policy_note}")
    console.print(f"fingerprint: {result.fingerprint}")
    return console.export_text()


def render_json(result: ProtectedResult) -> str:
    return json.dumps(_require_protected(result).to_dict(), indent=2) + "\n"


def csv_cell(cell: Cell | None) -> list:
    """A released number as two CSV columns: the number (empty when suppressed, or for no
    number), then the text shown (`131`, `<10`, `>=10`)."""
    if cell is None:
        return ["", ""]
    return ["" if cell.value is None else cell.value, cell.display]


def render_csv(result: ProtectedResult) -> str:
    result = _require_protected(result)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if result.policy_note:
        buffer.write(f"# policy note: {result.policy_note}\n")
    # One tidy table: attrition rows, then breakdown rows (one per cell or margin, strata in columns).
    strata = list(result.breakdowns[0].strata) if result.breakdowns else []
    writer.writerow(["table", "step", "rule", "kind", *strata, *CSV_NUMBERS])
    blank = [""] * len(strata)
    for index, step in enumerate(result.attrition):
        numbers = [*csv_cell(step.persons), *csv_cell(step.gain)]
        writer.writerow(["attrition", index, step.rule, step.kind, *blank, *numbers])
    for breakdown in result.breakdowns:
        for cell in breakdown.cells:
            place = [_coordinate(c, s) for c, s in zip(cell.coords, breakdown.strata, strict=True)]
            writer.writerow([_table_title(breakdown), "", "", "", *place, *csv_cell(cell.count), *csv_cell(None)])
    return buffer.getvalue()


CSV_NUMBERS = ("persons", "persons_display", "gain_if_dropped", "gain_display")


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
    ]
    for breakdown in result.breakdowns:
        header, rows = _grid(breakdown)
        lines += ["", f"### {_table_title(breakdown)}", ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|---|" + "---:|" * (len(header) - 1))
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    lines += [
        "",
        f"Database: {result.database['description']}.",
        f"Disclosure policy: {result.policy.describe()}.",
        *([f"Policy note: {result.policy_note}."] if result.policy_note else []),
        f"Fingerprint: `{result.fingerprint}`.",
    ]
    return "\n".join(lines) + "\n"


def render_policy(policy: DisclosurePolicy, source: str, fmt: str) -> str:
    """`cohortql policy show`: the active policy and where it comes from."""
    if fmt == "json":
        return json.dumps({"source": source, "policy": policy.to_dict()}, indent=2) + "\n"
    on = {True: "on", False: "off"}
    rows = [
        ("threshold", str(policy.threshold), f"counts below {policy.threshold} are never released"),
        ("suppress_zero", on[policy.suppress_zero],
         f"0 is shown as {policy.suppressed_text}" if policy.suppress_zero else "0 is shown exactly"),
        ("rounding_base", str(policy.rounding_base or "off"),
         f"released counts rounded to a multiple of {policy.rounding_base}" if policy.rounding_base
         else "released counts are exact"),
        ("complementary", on[policy.complementary],
         f"counts shown as {policy.complementary_text} are hidden so that no small count can be computed"
         if policy.complementary else "small counts are hidden, nothing else (no protection against arithmetic)"),
        ("attrition_differences", on[policy.attrition_differences],
         "persons removed by each rule are protected like shown counts" if policy.attrition_differences
         else "persons removed by a rule may be computable"),
    ]
    width = max(len(name) for name, _, _ in rows)
    lines = [f"disclosure policy from {source}"]
    lines += [f"  {name:<{width}}  {value:>5}  {meaning}" for name, value, meaning in rows]
    return "\n".join(lines) + "\n"


RENDERERS = {"table": render_table, "json": render_json, "csv": render_csv, "markdown": render_markdown}


def render(result: ProtectedResult, fmt: str) -> str:
    return RENDERERS[fmt](result)
