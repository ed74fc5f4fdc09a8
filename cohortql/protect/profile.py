"""The active disclosure policy: the `[disclosure]` table of the profile file, else the default."""

from __future__ import annotations

from dataclasses import dataclass, fields

from cohortql.profile import ProfileError, read_profile
from cohortql.protect.policy import DisclosurePolicy, PolicyError


@dataclass(frozen=True)
class ActivePolicy:
    policy: DisclosurePolicy
    source: str  # where it came from, for `cohortql policy show` and error messages


def active_policy() -> ActivePolicy:
    """The policy every run starts from; raises `PolicyError` for an unreadable profile or an invalid table."""
    try:
        profile = read_profile()
        table = profile.table("disclosure")
    except ProfileError as error:  # the protect stage's own error, as for a bad table
        raise PolicyError(error.message) from None
    path = profile.path
    if not profile.exists:
        return ActivePolicy(DisclosurePolicy(), f"the built-in default (no profile file at {path})")
    if table is None:
        return ActivePolicy(DisclosurePolicy(), f"the built-in default ({path} has no [disclosure] table)")
    known = [f.name for f in fields(DisclosurePolicy)]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise PolicyError(f"{path}: unknown key(s) in [disclosure]: {', '.join(unknown)}; known: {', '.join(known)}")
    try:
        return ActivePolicy(DisclosurePolicy(**table), f"the [disclosure] table of {path}")
    except PolicyError as error:
        raise PolicyError(f"{path}: [disclosure]: {error}") from None
