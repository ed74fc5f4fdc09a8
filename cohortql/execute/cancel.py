"""Ctrl-C that reaches the server: blocking database work runs in a worker thread.

A driver blocked inside a query (libpq, DuckDB) does not return to Python when SIGINT arrives,
so the KeyboardInterrupt would only surface after the query ends, and the server would go on
working if the process died. Here the main thread waits instead, gets the KeyboardInterrupt at
once, asks the driver to cancel (psycopg2 `cancel()` sends a cancel request to the server;
DuckDB `interrupt()`), waits for the worker to unwind, and re-raises.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

CANCEL_GRACE_SECONDS = 10


class Cancellable:
    """The driver connections in use by the worker; `cancel()` stops what they are running."""

    def __init__(self):
        self._connections: list = []
        self._lock = threading.Lock()

    def watch(self, dbapi_connection) -> None:
        with self._lock:
            self._connections.append(dbapi_connection)

    def cancel(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            stop = getattr(connection, "cancel", None) or getattr(connection, "interrupt", None)
            if stop:
                with contextlib.suppress(Exception):  # the connection may already be gone
                    stop()


def run_cancellable(work: Callable[[Cancellable], T]) -> T:
    """Run `work(cancellable)` in a worker thread; on Ctrl-C cancel its queries and re-raise."""
    cancellable = Cancellable()
    outcome: dict = {}

    def worker() -> None:
        try:
            outcome["value"] = work(cancellable)
        except BaseException as error:  # handed to the main thread, raised there
            outcome["error"] = error

    thread = threading.Thread(target=worker, name="cohortql-query", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
    except KeyboardInterrupt:
        cancellable.cancel()
        thread.join(CANCEL_GRACE_SECONDS)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
