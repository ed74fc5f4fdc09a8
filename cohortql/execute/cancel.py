"""Ctrl-C that reaches the server: blocking database work runs in a worker thread.

A driver blocked inside a query (libpq, DuckDB) does not return to Python when SIGINT arrives,
so the KeyboardInterrupt would only surface after the query ends, and the server would go on
working if the process died. Here the main thread waits instead, gets the KeyboardInterrupt at
once, asks the driver to cancel (psycopg2 `cancel()` sends a cancel request to the server;
DuckDB `interrupt()`), waits for the worker to unwind, and re-raises. A cancel reaches only the
statement running at that moment: it is repeated while the worker runs, and work of many
statements calls `check()` between them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

CANCEL_GRACE_SECONDS = 10


class Cancellable:
    """The driver connections in use by the worker; `cancel()` stops what they are running."""

    def __init__(self):
        self._connections: list = []
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    def watch(self, dbapi_connection) -> None:
        with self._lock:
            self._connections.append(dbapi_connection)

    def check(self) -> None:
        """Between statements: stop here if Ctrl-C came while none was running."""
        if self._cancelled.is_set():
            raise KeyboardInterrupt

    def cancel(self) -> None:
        self._cancelled.set()
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
    # The worker says when it ends: on Python 3.11 a join() interrupted by Ctrl-C can leave the
    # thread reported as not alive while it still runs (CPython gh-90882).
    ended = threading.Event()

    def worker() -> None:
        try:
            outcome["value"] = work(cancellable)
        except BaseException as error:  # handed to the main thread, raised there
            outcome["error"] = error
        finally:
            ended.set()

    thread = threading.Thread(target=worker, name="cohortql-query", daemon=True)
    try:
        thread.start()  # inside the try: Ctrl-C may come while start() waits for the worker to run
        while not ended.wait(0.2):
            pass
    except KeyboardInterrupt:
        # Again until the worker ends: a statement that started just after a cancel is cancelled too.
        deadline = time.monotonic() + CANCEL_GRACE_SECONDS
        while thread.ident is not None and not ended.is_set() and time.monotonic() < deadline:
            cancellable.cancel()
            ended.wait(0.2)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
