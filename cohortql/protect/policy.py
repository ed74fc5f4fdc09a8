"""The disclosure policy attached to every result: what counts as small, and how it is hidden."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

# Small-cell thresholds are 5 to 20; one above this hides any cohort a feasibility count is about.
MAX_THRESHOLD = 1_000_000


class PolicyError(ValueError):
    """An invalid policy, or a per-run override that would loosen the active one."""


class PolicyRangeError(PolicyError):
    """A field beyond what any policy can mean (a threshold above MAX_THRESHOLD)."""


@dataclass(frozen=True)
class DisclosurePolicy:
    """Counts about people in 1..threshold-1 (and 0 if `suppress_zero`) are never released.

    `complementary` hides further released counts until no hidden count can be computed back
    (see docs/disclosure.md for the exact protection level); `attrition_differences` makes the
    counts one can derive from the attrition (persons removed by each rule) sensitive too.
    `rounding_base` rounds every released count to a multiple of it, after all decisions.
    """

    threshold: int = 10
    suppress_zero: bool = False
    rounding_base: int | None = None
    complementary: bool = True
    attrition_differences: bool = True

    def __post_init__(self):
        if not _is_int(self.threshold) or self.threshold < 1:
            raise PolicyError(f"threshold must be an integer >= 1, not {self.threshold!r}")
        if self.threshold > MAX_THRESHOLD:
            raise PolicyRangeError(f"threshold {self.threshold} is more than {MAX_THRESHOLD:,}: it hides every count")
        for name in ("suppress_zero", "complementary", "attrition_differences"):
            if not isinstance(getattr(self, name), bool):
                raise PolicyError(f"{name} must be true or false, not {getattr(self, name)!r}")
        if self.rounding_base is not None:
            if not _is_int(self.rounding_base) or self.rounding_base < 1:
                raise PolicyError(f"rounding_base must be an integer >= 1, not {self.rounding_base!r}")
            # Half-up rounding sends every count >= threshold to a positive multiple only then.
            if self.rounding_base > 2 * self.threshold:
                raise PolicyError(
                    f"rounding_base {self.rounding_base} is more than twice the threshold {self.threshold}: "
                    "released counts could round to 0"
                )
            if self.rounding_base == 1:
                object.__setattr__(self, "rounding_base", None)
        if self.attrition_differences and not self.complementary:
            raise PolicyError("attrition_differences needs complementary suppression (complementary = true)")

    @property
    def lowest_small(self) -> int:
        """The smallest count that is suppressed: 0 when zero is suppressed, else 1."""
        return 0 if self.suppress_zero else 1

    def is_small(self, value: int) -> bool:
        """A count that must never be released (a primary suppression)."""
        return self.lowest_small <= value < self.threshold

    @property
    def suppressed_text(self) -> str:
        """How a small count is shown."""
        return f"<{self.threshold}"

    @property
    def complementary_text(self) -> str:
        """How a count hidden only to protect a small one is shown (it is not small)."""
        return f">={self.threshold}"

    def release(self, value: int) -> int:
        """The number shown for a count that is released (rounded half up to the base)."""
        base = self.rounding_base
        return value if base is None else (2 * value + base) // (2 * base) * base

    def looser_than(self, other: DisclosurePolicy) -> list[str]:
        """The fields on which this policy protects less than `other` (empty: at least as strict)."""
        looser = []
        if self.threshold < other.threshold:
            looser.append(f"threshold {self.threshold} < {other.threshold}")
        for name in ("suppress_zero", "complementary", "attrition_differences"):
            if getattr(other, name) and not getattr(self, name):
                looser.append(f"{name} off (on in the active policy)")
        if (other.rounding_base or 1) > (self.rounding_base or 1):
            looser.append(f"rounding base {self.rounding_base or 'off'} < {other.rounding_base}")
        return looser

    def tightened(self, **overrides) -> DisclosurePolicy:
        """This policy with per-run overrides, which may only make it stricter (else `PolicyError`)."""
        given = {name: value for name, value in overrides.items() if value is not None}
        unknown = set(given) - {f.name for f in fields(self)}
        if unknown:
            raise PolicyError(f"unknown policy field(s): {', '.join(sorted(unknown))}")
        candidate = replace(self, **given)
        looser = candidate.looser_than(self)
        if looser:
            raise PolicyError("a run may only make the disclosure policy stricter: " + "; ".join(looser))
        return candidate

    def describe(self) -> str:
        """One line for reports: what a reader needs to read the numbers."""
        parts = [f"counts from {self.lowest_small} to {self.threshold - 1} are shown as {self.suppressed_text}"]
        if self.threshold == 1 and not self.suppress_zero:
            parts = ["no count is suppressed (threshold 1)"]
        if self.complementary:
            parts.append(f"{self.complementary_text} marks a count hidden so that no small one can be computed")
        if self.rounding_base:
            parts.append(f"released counts are rounded to a multiple of {self.rounding_base}")
        return "; ".join(parts)

    @classmethod
    def from_dict(cls, values: dict) -> DisclosurePolicy:
        """The policy `to_dict()` describes (fields it lacks take their defaults)."""
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})

    def to_dict(self) -> dict:
        return {
            "name": "small-cell suppression",
            "threshold": self.threshold,
            "suppress_zero": self.suppress_zero,
            "rounding_base": self.rounding_base,
            "complementary": self.complementary,
            "attrition_differences": self.attrition_differences,
            "small_display": self.suppressed_text,
            "complementary_display": self.complementary_text,
        }


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
