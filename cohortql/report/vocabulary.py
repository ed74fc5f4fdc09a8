"""Renders protected vocabulary look-ups (`cohortql concepts search` and `show`) as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json

from rich.table import Table

from cohortql.protect.result import Cell
from cohortql.protect.vocabulary import ConceptDetail, ConceptList, SearchResult, ShownConcept
from cohortql.report.counts import csv_cell
from cohortql.report.terminal import print_table, recording_console

FORMATS = ("table", "json", "csv")
WIDTH = 160  # concept names stay on one line in a pipe or a log

# The related lists of `show`, with their titles in the table.
_LIST_TITLES = {
    "ancestors": "ancestors",
    "descendants": "descendants",
    "mapped_from": "source codes that map to it",
    "maps_to": "maps to",
}
_CONCEPT_COLUMNS = ("concept_id", "name", "domain", "vocabulary", "concept_class", "code", "standard",
                    "valid_start_date", "valid_end_date", "invalid_reason")
_COUNT_COLUMNS = ("records", "records_display", "persons", "persons_display")


def _require(result, kind: type):
    if not isinstance(result, kind):
        raise TypeError(f"the report layer only takes a protected {kind.__name__}, not {type(result).__name__}")
    return result


def _display(cell: Cell | None) -> str:
    return "-" if cell is None else cell.display


def _levels(shown: ShownConcept) -> str:
    low, high = shown.levels
    return str(low) if low == high else f"{low}-{high}"


def _concept_table(concepts: tuple[ShownConcept, ...], first: tuple[str, ...] = ()) -> Table:
    """One row per concept; `first` names leading columns: match (search) or levels (show)."""
    table = Table()
    headers = (*first, "concept_id", "name", "domain", "vocabulary", "code", "standard", "records", "persons")
    for header in headers:
        table.add_column(header, justify="right" if header in ("concept_id", "records", "persons") else "left")
    for shown in concepts:
        c = shown.concept
        lead = [shown.match if name == "match" else _levels(shown) for name in first]
        table.add_row(*lead, str(c.concept_id), c.name, c.domain, c.vocabulary, c.code, c.standard_text,
                      _display(shown.records), _display(shown.persons))
    return table


def _footer(console, result: SearchResult | ConceptDetail) -> None:
    console.print(f"database: {result.database['description']}")
    console.print(f"policy: {result.policy.describe()}")
    if result.policy_note:
        console.print(f"policy note: {result.policy_note}")


def _more(listed: ConceptList, what: str) -> str:
    return f"... and {listed.more} more {what} (--limit to see more)" if listed.more else ""


def _search_table(result: SearchResult) -> str:
    console = recording_console(WIDTH)
    hits = result.hits
    if hits.items:
        print_table(console, _concept_table(hits.items, ("match",)),
                    f"concepts matching {result.text!r}: {len(hits.items) + hits.more}")
    else:
        console.print(f"no concept matches {result.text!r}", soft_wrap=True)
    for line in (_more(hits, "concepts"),
                 f"more than {result.capped:,} concepts match: only the first {result.capped:,} were ranked; "
                 "narrow the search (--domain, --vocabulary, --standard, more words)" if result.capped else ""):
        if line:
            console.print(line, soft_wrap=True)
    _footer(console, result)
    return console.export_text()


def _detail_table(detail: ConceptDetail) -> str:
    console = recording_console(WIDTH)
    c = detail.concept.concept
    console.print(f"concept {c.concept_id}: {c.name}", soft_wrap=True)
    for label, value in (("domain", c.domain), ("vocabulary", c.vocabulary), ("class", c.concept_class),
                         ("code", c.code), ("standard", c.standard_text), ("validity", c.validity),
                         ("records", _display(detail.concept.records)), ("persons", _display(detail.concept.persons))):
        console.print(f"  {label + ':':<12}{value}", soft_wrap=True)
    for key, listed in detail.lists().items():
        title = _LIST_TITLES[key]
        if not listed.items:
            console.print(f"{title}: none")
            continue
        first = ("levels",) if key in ("ancestors", "descendants") else ()
        print_table(console, _concept_table(listed.items, first), f"{title}: {len(listed.items) + listed.more}")
        if listed.more:
            console.print(_more(listed, title))
    _footer(console, detail)
    return console.export_text()


def _csv_row(shown: ShownConcept) -> list:
    concept = shown.concept.to_dict()
    return [concept[name] for name in _CONCEPT_COLUMNS] + [*csv_cell(shown.records), *csv_cell(shown.persons)]


def _writer(result: SearchResult | ConceptDetail) -> tuple[io.StringIO, csv.writer]:
    buffer = io.StringIO()
    if result.policy_note:
        buffer.write(f"# policy note: {result.policy_note}\n")
    return buffer, csv.writer(buffer, lineterminator="\n")


def _search_csv(result: SearchResult) -> str:
    buffer, writer = _writer(result)
    writer.writerow(["rank", "match", *_CONCEPT_COLUMNS, *_COUNT_COLUMNS])
    for rank, shown in enumerate(result.hits.items, start=1):
        writer.writerow([rank, shown.match, *_csv_row(shown)])
    return buffer.getvalue()


def _detail_csv(detail: ConceptDetail) -> str:
    buffer, writer = _writer(detail)
    writer.writerow(["relation", "min_levels", "max_levels", *_CONCEPT_COLUMNS, *_COUNT_COLUMNS])
    writer.writerow(["concept", "", "", *_csv_row(detail.concept)])
    for key, listed in detail.lists().items():
        for shown in listed.items:
            levels = shown.levels or ("", "")
            writer.writerow([key, *levels, *_csv_row(shown)])
    return buffer.getvalue()


def render_search(result: SearchResult, fmt: str) -> str:
    result = _require(result, SearchResult)
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2) + "\n"
    return _search_csv(result) if fmt == "csv" else _search_table(result)


def render_detail(detail: ConceptDetail, fmt: str) -> str:
    detail = _require(detail, ConceptDetail)
    if fmt == "json":
        return json.dumps(detail.to_dict(), indent=2) + "\n"
    return _detail_csv(detail) if fmt == "csv" else _detail_table(detail)
