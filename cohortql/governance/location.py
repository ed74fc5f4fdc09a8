"""Where the governance store lives, known without opening it (and without SQLAlchemy).

--store, then COHORTQL_STORE, then the profile's `[governance] store`, then a SQLite file in the
user data dir. Every `cohortql count` asks for the deployment's floor; where no store exists yet
there is none, and knowing that costs a file check, not the ORM's imports.
"""

from __future__ import annotations

import os
from pathlib import Path

from cohortql.profile import read_profile


def default_store_path() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "cohortql" / "governance.sqlite"


def store_setting(explicit: str | None = None) -> str | None:
    """The store as configured: a SQLAlchemy URL, a plain path, or None (the default file)."""
    return explicit or os.environ.get("COHORTQL_STORE") or (read_profile().table("governance") or {}).get("store")


def sqlite_file(setting: str | None) -> Path | None:
    """The SQLite file a setting names as a path (or the default); None for a URL, which SQLAlchemy parses."""
    if not setting:
        return default_store_path()
    if "://" not in setting:
        return Path(setting).expanduser().resolve()
    return None
