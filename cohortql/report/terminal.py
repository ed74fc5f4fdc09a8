"""Text for a terminal: user text printed literally (no Rich markup or emoji codes, so a title
`[draft]` or a rule named `:warning:` is shown as written and `[/x]` cannot raise), and table
titles on a line of their own (a Rich table title wraps to the table's width, mid-phrase)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table


def recording_console(width: int) -> Console:
    return Console(record=True, width=width, file=io.StringIO(), highlight=False, markup=False, emoji=False)


def print_table(console: Console, table: Table, title: str | None = None) -> None:
    """`title` on its own unwrapped line, then the table."""
    if title:
        console.print(title, soft_wrap=True)
    console.print(table)


def table_text(table: Table, title: str | None = None, width: int = 140) -> str:
    console = recording_console(width)
    print_table(console, table, title)
    return console.export_text()
