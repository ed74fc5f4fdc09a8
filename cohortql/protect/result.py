"""Protected results: what the report layer may show. Built only by `protect()`."""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass

from cohortql.protect.policy import DisclosurePolicy

# Set only while protect() assembles a result: a result built anywhere else (directly, or by
# dataclasses.replace() on a protected one) is refused.
_PROTECTING = contextvars.ContextVar("cohortql_protecting", default=False)


@contextlib.contextmanager
def protecting():
    """For protect() only: results built inside this block are accepted."""
    token = _PROTECTING.set(True)
    try:
        yield
    finally:
        _PROTECTING.reset(token)


class UnprotectedResultError(TypeError):
    """Raised when anything but the protect stage tries to build a releasable result."""


@dataclass(frozen=True)
class Cell:
    """A released count: `value` is None when suppressed; `display` is what is shown."""

    value: int | None
    display: str

    def to_dict(self) -> dict:
        return {"value": self.value, "display": self.display}


@dataclass(frozen=True)
class AttritionStep:
    rule: str
    kind: str  # entry | include | exclude
    persons: Cell
    gain: Cell | None  # persons added if only this rule were dropped; None for the entry step

    def to_dict(self) -> dict:
        step = {"rule": self.rule, "kind": self.kind, **self.persons.to_dict()}
        if self.gain is not None:
            step["gain"] = self.gain.to_dict()
        return step

    def row(self) -> dict:
        """The step as a DataFrame row: released numbers (missing when suppressed) and their text."""
        return {
            "rule": self.rule,
            "kind": self.kind,
            "persons": self.persons.value,
            "persons_display": self.persons.display,
            "gain_if_dropped": self.gain.value if self.gain else None,
            "gain_display": self.gain.display if self.gain else "",
        }


ATTRITION_DTYPES = {"persons": "Int64", "gain_if_dropped": "Int64"}  # nullable: suppressed values are missing


@dataclass(frozen=True)
class TableCell:
    """One cell or margin of a breakdown.

    `coords` has one entry per stratum of the table: `(stratum, value)` for a value, `(parent,
    group)` for a group subtotal (e.g. `("site_group", "north")`), `None` for the total over it.
    """

    coords: tuple[tuple[str, object] | None, ...]
    margin: bool  # a subtotal or total rather than an interior cell
    count: Cell

    def to_dict(self) -> dict:
        return {"strata": dict(c for c in self.coords if c), **self.count.to_dict()}


@dataclass(frozen=True)
class ProtectedTable:
    """A breakdown of the final cohort, protected together with everything released with it."""

    strata: tuple[str, ...]
    cells: tuple[TableCell, ...]

    def to_dict(self) -> dict:
        return {
            "strata": list(self.strata),
            "cells": [cell.to_dict() for cell in self.cells if not cell.margin],
            "margins": [cell.to_dict() for cell in self.cells if cell.margin],
        }


@dataclass(frozen=True)
class ProtectedResult:
    title: str | None
    final: Cell
    entries: Cell
    attrition: tuple[AttritionStep, ...]
    policy: DisclosurePolicy
    fingerprint: str
    database: dict
    breakdowns: tuple[ProtectedTable, ...] = ()
    policy_note: str | None = None  # how the policy stands to the deployment's floor, when it differs

    def __post_init__(self):
        if not _PROTECTING.get():
            raise UnprotectedResultError("a ProtectedResult can only be built by cohortql.protect.protect()")

    def breakdown_frame(self, *strata: str):
        """A breakdown as a pandas DataFrame, one row per cell and margin: a column per stratum
        (empty on the total over it; a group subtotal names its group), `persons` (missing when
        suppressed), `display` and `margin`. `strata` picks the table (`"site", "age10"`); none:
        the only one. Raises KeyError naming the tables there are."""
        import pandas as pd

        tables = {table.strata: table for table in self.breakdowns}
        if not strata and len(tables) == 1:
            strata = next(iter(tables))
        if tuple(strata) not in tables:
            there = ", ".join(" x ".join(t) for t in tables) or "none (count with --by or `breakdown by`)"
            raise KeyError(f"no breakdown by {' x '.join(strata) or '(unnamed)'}; the breakdowns: {there}")
        table = tables[tuple(strata)]
        rows = []
        for cell in table.cells:
            row = {stratum: None for stratum in table.strata}
            for stratum, coord in zip(table.strata, cell.coords, strict=True):
                if coord is not None:
                    row[stratum] = coord[1] if coord[0] == stratum else f"{coord[0]}: {coord[1]}"
            rows.append({**row, "persons": cell.count.value, "display": cell.count.display, "margin": cell.margin})
        return pd.DataFrame(rows).astype({"persons": "Int64"})

    def attrition_frame(self):
        """The attrition as a pandas DataFrame (suppressed values are missing, displays kept)."""
        import pandas as pd

        return pd.DataFrame([step.row() for step in self.attrition]).astype(ATTRITION_DTYPES)

    def to_dict(self) -> dict:
        note = {"policy_note": self.policy_note} if self.policy_note else {}
        return {
            **note,
            "title": self.title,
            "final": self.final.to_dict(),
            "entries": self.entries.to_dict(),
            "attrition": [step.to_dict() for step in self.attrition],
            "breakdowns": [table.to_dict() for table in self.breakdowns],
            "policy": self.policy.to_dict(),
            "fingerprint": self.fingerprint,
            "database": self.database,
        }
