"""The disclosure policy attached to every result."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class DisclosurePolicy:
    """Counts about people in 1..threshold-1 are never released (nor 0, if `suppress_zero`)."""

    threshold: int = 10
    suppress_zero: bool = False

    def __post_init__(self):
        if not isinstance(self.threshold, int) or self.threshold < 1:
            raise ValueError("the suppression threshold must be an integer >= 1")

    def is_small(self, value: int) -> bool:
        if value == 0:
            return self.suppress_zero
        return value < self.threshold

    @property
    def suppressed_text(self) -> str:
        return f"<{self.threshold}"

    def to_dict(self) -> dict:
        return {"name": "small-cell suppression", **asdict(self)}
