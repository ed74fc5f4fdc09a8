"""The active disclosure policy: the `[disclosure]` table of the profile file, else the default."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields

from cohortql.protect.policy import DisclosurePolicy, PolicyError
from cohortql.resources import profile_path


@dataclass(frozen=True)
class ActivePolicy:
    policy: DisclosurePolicy
    source: str  # where it came from, for `cohortql policy show` and error messages


def active_policy() -> ActivePolicy:
    """The policy every run starts from; raises `PolicyError` for an unreadable or invalid table."""
    path = profile_path()
    if not path.exists():
        return ActivePolicy(DisclosurePolicy(), f"the built-in default (no profile file at {path})")
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle).get("disclosure")
    except (tomllib.TOMLDecodeError, OSError) as error:
        raise PolicyError(f"cannot read profile {path}: {error}") from None
    if table is None:
        return ActivePolicy(DisclosurePolicy(), f"the built-in default ({path} has no [disclosure] table)")
    if not isinstance(table, dict):
        raise PolicyError(f"{path}: `disclosure` must be a table ([disclosure])")
    known = [f.name for f in fields(DisclosurePolicy)]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise PolicyError(f"{path}: unknown key(s) in [disclosure]: {', '.join(unknown)}; known: {', '.join(known)}")
    try:
        return ActivePolicy(DisclosurePolicy(**table), f"the [disclosure] table of {path}")
    except PolicyError as error:
        raise PolicyError(f"{path}: [disclosure]: {error}") from None
