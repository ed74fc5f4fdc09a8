"""Protected results: what the report layer may show. Built only by `protect()`."""

from __future__ import annotations

from dataclasses import dataclass, field

from cohortql.protect.policy import DisclosurePolicy

_BUILT_BY_PROTECT = object()


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


@dataclass(frozen=True)
class ProtectedResult:
    title: str | None
    final: Cell
    entries: Cell
    attrition: tuple[AttritionStep, ...]
    policy: DisclosurePolicy
    fingerprint: str
    database: dict
    _token: object = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self._token is not _BUILT_BY_PROTECT:
            raise UnprotectedResultError("a ProtectedResult can only be built by cohortql.protect.protect()")

    def attrition_frame(self):
        """The attrition as a pandas DataFrame (suppressed values are missing, displays kept)."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "rule": step.rule,
                    "kind": step.kind,
                    "persons": step.persons.value,
                    "persons_display": step.persons.display,
                    "gain_if_dropped": step.gain.value if step.gain else None,
                    "gain_display": step.gain.display if step.gain else "",
                }
                for step in self.attrition
            ]
        ).astype({"persons": "Int64", "gain_if_dropped": "Int64"})

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "final": self.final.to_dict(),
            "entries": self.entries.to_dict(),
            "attrition": [step.to_dict() for step in self.attrition],
            "policy": self.policy.to_dict(),
            "fingerprint": self.fingerprint,
            "database": self.database,
        }
