"""The deployment's disclosure policy floor: set in the governance store by an admin, on the audit chain.

Every request is governed by a policy at least as strict as the floor: one submitted under a
looser policy is refused, naming the floor. Without a floor set, the built-in default policy is
the floor. `allow_looser_profiles` says whether an insider's own `cohortql count` may run under a
looser user profile (its output then says so); releases never may.

Every `cohortql count` reads the floor, usually where no store exists: this module imports the
store and its models (SQLAlchemy) only once there is one to read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cohortql.governance.errors import Refused
from cohortql.governance.location import sqlite_file, store_setting
from cohortql.protect import DisclosurePolicy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cohortql.governance.store import Store

FLOOR_ID = 1
ACTION = "policy_floor_set"
_POLICY_FIELDS = ("threshold", "suppress_zero", "rounding_base", "complementary", "attrition_differences")


@dataclass(frozen=True)
class Floor:
    policy: DisclosurePolicy
    allow_looser_profiles: bool
    source: str  # who set it and when, or "the built-in default"

    def describe(self) -> str:
        return f"the deployment's floor ({_policy_text(self.policy)}; {self.source})"

    def refusal(self, policy: DisclosurePolicy, what: str) -> Refused | None:
        """A refusal when `policy` is looser than the floor; None when it is at least as strict."""
        looser = policy.looser_than(self.policy)
        if not looser:
            return None
        return Refused(f"{what} is looser than {self.describe()}: " + "; ".join(looser),
                       "use a profile whose [disclosure] table is at least as strict; only an admin can change "
                       "the floor (cohortql admin policy set)")


DEFAULT = Floor(DisclosurePolicy(), False, "the built-in default: no admin has set one")


def _policy_text(policy: DisclosurePolicy) -> str:
    return f"threshold {policy.threshold}, " + ", ".join(
        f"{name} {getattr(policy, name) if getattr(policy, name) is not None else 'off'}"
        for name in _POLICY_FIELDS[1:])


def current(session: Session) -> Floor:
    from cohortql.governance.models import PolicyFloor

    row = session.get(PolicyFloor, FLOOR_ID)
    if row is None:
        return DEFAULT
    source = f"set by {row.set_by} at {row.set_at}"
    return Floor(DisclosurePolicy.from_dict(row.policy), row.allow_looser_profiles, source)


def set_floor(store: Store, actor: str, policy: DisclosurePolicy, allow_looser_profiles: bool, *,
              now: datetime | None = None) -> Floor:
    """Admins only; the change and its audit record commit together."""
    from cohortql.governance import chain
    from cohortql.governance.identity import require_role
    from cohortql.governance.models import PolicyFloor

    at = chain.timestamp(now)
    with store.transaction() as session:
        chain.lock_head(session)
        require_role(session, actor, "admin")
        before = current(session)
        row = session.get(PolicyFloor, FLOOR_ID)
        if row is None:
            row = PolicyFloor(id=FLOOR_ID)
            session.add(row)
        row.policy, row.allow_looser_profiles = policy.to_dict(), allow_looser_profiles
        row.set_by, row.set_at = actor, at
        chain.append(session, action=ACTION, actor=actor, request_id=None, at=at, detail={
            "policy": policy.to_dict(), "allow_looser_profiles": allow_looser_profiles,
            "previous": before.policy.to_dict(), "previous_source": before.source,
        })
        return current(session)


def check_table(session: Session, records) -> list[str]:
    """The floor row against the last `policy_floor_set` record (verify's replay)."""
    from cohortql.governance.models import PolicyFloor

    last = None
    for record in records:
        if record.action == ACTION:
            last = (json.loads(record.detail), record.actor, record.at)
    row = session.get(PolicyFloor, FLOOR_ID)
    if last is None:
        return [] if row is None else ["the policy floor has no audit record: it was set behind the chain's back"]
    if row is None:
        return ["the policy floor is in the audit record but missing from the table"]
    detail, actor, at = last
    expected = (detail["policy"], detail["allow_looser_profiles"], actor, at)
    if (row.policy, row.allow_looser_profiles, row.set_by, row.set_at) != expected:
        return ["the policy floor in the table does not match the audit record"]
    return []


def deployment_floor(explicit_store: str | None = None) -> Floor:
    """The floor of the store a deployment names (read-only; a store not yet created has none)."""
    path = sqlite_file(store_setting(explicit_store))
    if path is not None and not path.is_file():
        return DEFAULT
    from cohortql.governance.store import Store, store_url

    url = store_url(explicit_store, create=False)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        return DEFAULT
    with Store(url, read_only=True) as store:
        if "policy_floor" not in (store.tables or set()):
            return DEFAULT  # a store from before floors existed
        with store.reading() as session:
            return current(session)
