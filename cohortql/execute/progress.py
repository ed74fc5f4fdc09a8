"""What the running query is doing, as a short phrase, for whoever draws progress (the CLI's `working`).

An engine that can tell registers a snapshot while its work runs (Spark: the running stages and
their tasks, from the status tracker); PostgreSQL and DuckDB tell nothing beyond the time that
has passed, which the drawer measures itself. Snapshots are read from the drawer's thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

Snapshot = Callable[[], str | None]

_snapshots: list[Snapshot] = []


@contextlib.contextmanager
def reporting(snapshot: Snapshot) -> Iterator[None]:
    """While the block runs, `current()` asks `snapshot` what the work is doing."""
    _snapshots.append(snapshot)
    try:
        yield
    finally:
        _snapshots.remove(snapshot)


def current() -> str | None:
    """The latest registered snapshot's phrase; None when no engine tells more than the time."""
    for snapshot in reversed(list(_snapshots)):
        try:
            phrase = snapshot()
        except Exception:  # noqa: BLE001 - progress is a courtesy: an engine shutting down tells nothing
            return None
        if phrase:
            return phrase
    return None
