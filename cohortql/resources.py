"""Finds the data folders (grammar/, sql_templates/) in a wheel or a checkout, the user's cache and profile."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_path(name: str) -> Path:
    """`name` is a top-level folder of the repository; wheels carry it under `_resources/`."""
    packaged = _PACKAGE_DIR / "_resources" / name
    if packaged.exists():
        return packaged
    checkout = _PACKAGE_DIR.parent / name
    if checkout.exists():
        return checkout
    raise FileNotFoundError(f"cohortql resource folder {name!r} is missing from this installation")


def cache_dir() -> Path:
    """The user's cohortql cache (Eunomia's copy, the analysed grammar): COHORTQL_CACHE_DIR, else XDG's."""
    if os.environ.get("COHORTQL_CACHE_DIR"):
        return Path(os.environ["COHORTQL_CACHE_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "cohortql"
    return Path.home() / ".cache" / "cohortql"


def profile_path() -> Path:
    """The user's profile file (database and disclosure settings): COHORTQL_PROFILE, else XDG's."""
    configured = os.environ.get("COHORTQL_PROFILE")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "cohortql" / "profile.toml"
