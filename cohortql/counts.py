"""The one-pass result, true counts by rule mask and strata: made by execute, read by protect."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RawCounts:
    """Persons (and their entries) by rule mask and strata: the one-pass result.

    Holds true counts about people, so only the protect stage may read it for release.
    """

    rule_names: tuple[str, ...]
    strata: tuple[str, ...]
    rows: tuple[tuple[int, tuple, int, int], ...]  # (mask, strata values, persons, entries)
