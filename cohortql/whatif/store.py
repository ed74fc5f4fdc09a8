"""The what-if cache on disk: one file per computed vector, atomic writes, LRU eviction, locking.

Files are written to a temporary name and renamed into place, so a reader sees a whole file or
none; two processes computing the same vector both write it, and either copy is right. Reading a
file marks it used (its mtime), and eviction under an exclusive lock of the directory deletes the
least recently used files until the cache fits its size bound. A file that cannot be read, or
that holds another key or another format, is a miss: it is rebuilt, with a warning. A full disk
or an unwritable directory costs the speed-up only: the answer is computed and a warning given.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "cohortql-whatif-1"
SUFFIX = ".cqv"
DEFAULT_MAX_BYTES = 512 * 1024 * 1024


class CacheWarning(UserWarning):
    """The cache could not be used as asked; the answer is still computed from the database."""


def default_cache_dir() -> Path:
    """Beside the Eunomia cache: $COHORTQL_CACHE_DIR, else $XDG_CACHE_HOME/cohortql, else ~/.cache/cohortql."""
    if os.environ.get("COHORTQL_CACHE_DIR"):
        base = Path(os.environ["COHORTQL_CACHE_DIR"])
    elif os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"]) / "cohortql"
    else:
        base = Path.home() / ".cache" / "cohortql"
    return base / "whatif"


def default_max_bytes() -> int:
    text = os.environ.get("COHORTQL_CACHE_MAX_MB")
    return int(float(text) * 1024 * 1024) if text else DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class CacheInfo:
    directory: Path
    files: int
    bytes: int
    max_bytes: int


class VectorCache:
    """Arrays by key (a hex digest). `get` returns None on a miss; `put` never raises."""

    def __init__(self, directory: str | Path | None = None, max_bytes: int | None = None):
        self.directory = Path(directory) if directory else default_cache_dir()
        self.max_bytes = default_max_bytes() if max_bytes is None else max_bytes

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}{SUFFIX}"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            warnings.warn(f"what-if cache: cannot read {path}: {error.strerror}; recomputing", CacheWarning, 2)
            return None
        arrays = _decode(data, key)
        if arrays is None:
            warnings.warn(f"what-if cache: {path} is corrupted or not a cohortql cache file; rebuilt", CacheWarning, 2)
            path.unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # least recently used goes first
        return arrays

    def put(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            payload = _encode(arrays, key)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=SUFFIX)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(payload)
                os.replace(temporary, self._path(key))
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            self._evict()
        except OSError as error:
            why = "the disk is full" if error.errno in (errno.ENOSPC, errno.EDQUOT) else error.strerror
            warnings.warn(
                f"what-if cache: not written to {self.directory} ({why}); answers are right, re-counts slower",
                CacheWarning,
                2,
            )

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _entries(self) -> list[tuple[float, int, Path]]:
        found = []
        for path in self.directory.glob(f"*{SUFFIX}"):
            if path.name.startswith(".tmp-"):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:  # evicted by another process meanwhile
                continue
            found.append((stat.st_mtime, stat.st_size, path))
        return found

    def _evict(self) -> None:
        with self._locked():
            entries = sorted(self._entries())
            total = sum(size for _, size, _ in entries)
            for _, size, path in entries:
                if total <= self.max_bytes:
                    break
                path.unlink(missing_ok=True)
                total -= size

    def info(self) -> CacheInfo:
        if not self.directory.exists():
            return CacheInfo(self.directory, 0, 0, self.max_bytes)
        entries = self._entries()
        return CacheInfo(self.directory, len(entries), sum(size for _, size, _ in entries), self.max_bytes)

    def clear(self) -> int:
        """Delete every cache file; returns how many."""
        if not self.directory.exists():
            return 0
        with self._locked():
            entries = self._entries()
            for _, _, path in entries:
                path.unlink(missing_ok=True)
            for leftover in self.directory.glob(f".tmp-*{SUFFIX}"):
                leftover.unlink(missing_ok=True)
        return len(entries)


def _encode(arrays: dict[str, np.ndarray], key: str) -> bytes:
    buffer = io.BytesIO()
    header = np.frombuffer(json.dumps({"format": FORMAT, "key": key}).encode("utf-8"), dtype=np.uint8)
    np.savez(buffer, __header__=header, **arrays)
    return buffer.getvalue()


def _decode(data: bytes, key: str) -> dict[str, np.ndarray] | None:
    """The arrays, or None when the bytes are not a cache file for this key in this format."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        header = json.loads(arrays.pop("__header__").tobytes().decode("utf-8"))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("key") != key:
        return None
    return arrays


class NoCache(VectorCache):
    """`--no-cache`: every vector computed from the database, nothing kept."""

    def __init__(self):
        super().__init__(Path(tempfile.gettempdir()) / "cohortql-no-cache", 0)

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        return None

    def put(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        return None
