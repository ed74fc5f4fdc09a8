"""Finds the data directories (grammar/, sql_templates/) in a wheel or a source checkout."""

from __future__ import annotations

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
