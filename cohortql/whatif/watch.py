"""`cohortql watch`: re-count a definition each time it is saved, showing what changed.

A polling loop (no file-system events: the same on every platform and network drive) reads the
file when its size, time or content changes. A count is released together with the previous
one (two variants, one release), so the changes shown cannot reveal a small cell. A deleted
file, a parse error or a database error is shown and the loop keeps watching; only Ctrl-C ends
it (or `iterations`, for tests and scripts).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cohortql.diagnostics import CohortQLError, Source
from cohortql.execute.errors import DatabaseError
from cohortql.pipeline import UnreadableFile
from cohortql.transpile import TranspileError

# Shown, and the loop goes on: the next save may fix them.
_SHOWN_ERRORS = (CohortQLError, DatabaseError, TranspileError, OSError, UnreadableFile)


@dataclass
class WatchState:
    last_seen: tuple | None = None  # (size, mtime_ns, digest) of the file when last read
    previous: Source | None = None  # the last definition that counted


def _signature(path: Path) -> tuple | None:
    try:
        data = path.read_bytes()
        stat = path.stat()
    except FileNotFoundError:
        return None
    except OSError as error:  # a directory, no permission: read_source says so
        return ("unreadable", str(error))
    return (stat.st_size, stat.st_mtime_ns, hashlib.sha256(data).hexdigest())


def watch(
    path: Path,
    recount: Callable[[Source | None, Source], str],
    show: Callable[[str], None],
    describe_error: Callable[[Exception, Source | None], str],
    interval: float = 0.5,
    iterations: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> WatchState:
    """Poll `path`; on each change show `recount(previous, current)` or the error.

    `describe_error` turns a definition or database error into the text to show."""
    from cohortql.pipeline import read_source

    state = WatchState()
    polls = 0
    missing_reported = False
    while iterations is None or polls < iterations:
        polls += 1
        signature = _signature(path)
        if signature is None:
            if not missing_reported:
                show(f"{path}: no such file (deleted?); watching for it to come back\n")
                missing_reported, state.last_seen = True, None
        elif signature != state.last_seen:
            missing_reported, state.last_seen = False, signature
            source = None
            try:
                source = read_source(path)
                show(recount(state.previous, source))
                state.previous = source
            except _SHOWN_ERRORS as error:
                show(describe_error(error, source))
        if iterations is None or polls < iterations:
            sleep(interval)
    return state
