"""The user's profile file (TOML: `[database]`, `[disclosure]`, `[governance]`), read in one place.

COHORTQL_PROFILE names it, else `$XDG_CONFIG_HOME/cohortql/profile.toml`. A profile the
environment names must exist (a typo must not silently fall back to the defaults); the default
path may be absent. Read once per process and file version, whichever stage asks first.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cohortql.resources import profile_path


class ProfileError(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass(frozen=True)
class Profile:
    path: Path
    exists: bool
    tables: dict = field(default_factory=dict)

    def table(self, name: str) -> dict | None:
        """The table `[name]`, None when the profile has none."""
        table = self.tables.get(name)
        if table is not None and not isinstance(table, dict):
            raise ProfileError(f"{self.path}: `{name}` must be a table ([{name}])", "see docs/cli.md, the profile")
        return table


_read: dict[tuple[Path, int], Profile] = {}


def read_profile() -> Profile:
    """The profile in force; raises `ProfileError` for a named but missing file or bad TOML."""
    path = profile_path()
    try:
        version = path.stat().st_mtime_ns
    except FileNotFoundError:
        if os.environ.get("COHORTQL_PROFILE"):
            raise ProfileError(f"no profile file at {path} (named by COHORTQL_PROFILE)",
                               "fix the path, or unset COHORTQL_PROFILE to use the defaults") from None
        return Profile(path, exists=False)
    except OSError as error:
        raise ProfileError(f"cannot read profile {path}: {error.strerror or error}") from None
    if (path, version) not in _read:
        try:
            with path.open("rb") as handle:
                tables = tomllib.load(handle)
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as error:
            hint = "fix the TOML syntax or remove the file"
            raise ProfileError(f"cannot read profile {path}: {error}", hint) from None
        _read[(path, version)] = Profile(path, exists=True, tables=tables)
    return _read[(path, version)]
