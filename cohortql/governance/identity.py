"""Who is acting and what they may do: the user name, roles, grants and the bootstrap of the first admin.

The user name is declared (--user, COHORTQL_USER, the OS login), not authenticated: see the
threat model in docs/governance.md.
"""

from __future__ import annotations

import getpass
import os
import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cohortql.governance import chain
from cohortql.governance.errors import GovernanceError, NotFound, PermissionDenied, Refused
from cohortql.governance.models import RoleGrant
from cohortql.governance.store import Store

ROLES = ("requester", "steward", "admin")
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def valid_user(name: str) -> str:
    if not _USER_NAME.fullmatch(name or ""):
        raise NotFound(
            f"`{name}` is not a valid user name", "use letters, digits and . _ @ - (at most 64 characters)"
        )
    return name


def acting_user(explicit: str | None = None) -> str:
    """--user, else COHORTQL_USER, else the OS login."""
    name = explicit or os.environ.get("COHORTQL_USER")
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            raise GovernanceError("cannot tell who you are", "pass --user NAME or set COHORTQL_USER") from None
    return valid_user(name)


def roles_of(session: Session, user: str) -> set[str]:
    return set(session.execute(select(RoleGrant.role).where(RoleGrant.user_name == user)).scalars())


def require_role(session: Session, user: str, *roles: str) -> None:
    """At least one of `roles`, else a refusal that says who can grant it."""
    if roles_of(session, user) & set(roles):
        return
    wanted = " or ".join(roles)
    raise PermissionDenied(
        f"{user} does not have the {wanted} role", f"an admin can grant it: cohortql users grant {user} {roles[0]}"
    )


def grants(session: Session) -> list[RoleGrant]:
    return list(session.execute(select(RoleGrant).order_by(RoleGrant.user_name, RoleGrant.role)).scalars())


def _is_empty(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(RoleGrant)).scalar_one() == 0


def _add_grant(session: Session, actor: str, user: str, role: str, at: str) -> None:
    session.add(RoleGrant(user_name=user, role=role, granted_by=actor, granted_at=at))
    chain.append(session, action="role_granted", actor=actor, request_id=None, detail={"user": user, "role": role},
                 at=at)


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise NotFound(f"unknown role `{role}`", f"roles are {', '.join(ROLES)}")
    return role


def init(store: Store, actor: str, *, now: datetime | None = None) -> None:
    """Make `actor` the first admin of an empty store."""
    at = chain.timestamp(now)
    with store.transaction() as session:
        chain.lock_head(session)
        if not _is_empty(session):
            admins = ", ".join(g.user_name for g in grants(session) if g.role == "admin") or "none"
            raise Refused(f"the store already has users (admins: {admins})", "ask an admin to grant you a role")
        _add_grant(session, actor, actor, "admin", at)


def grant(store: Store, actor: str, user: str, role: str, *, now: datetime | None = None) -> bool:
    """Grant `role` to `user`; False when they had it. On an empty store the actor first becomes admin."""
    user, role, at = valid_user(user), _check_role(role), chain.timestamp(now)
    with store.transaction() as session:
        chain.lock_head(session)
        if _is_empty(session):
            _add_grant(session, actor, actor, "admin", at)
            session.flush()
        require_role(session, actor, "admin")
        if session.get(RoleGrant, (user, role)) is not None:
            return False
        _add_grant(session, actor, user, role, at)
        return True


def revoke(store: Store, actor: str, user: str, role: str, *, now: datetime | None = None) -> None:
    user, role, at = valid_user(user), _check_role(role), chain.timestamp(now)
    with store.transaction() as session:
        chain.lock_head(session)
        require_role(session, actor, "admin")
        held = session.get(RoleGrant, (user, role))
        if held is None:
            raise NotFound(f"{user} does not have the {role} role")
        if role == "admin" and sum(g.role == "admin" for g in grants(session)) == 1:
            raise Refused(f"{user} is the last admin", "grant admin to someone else first")
        session.delete(held)
        chain.append(session, action="role_revoked", actor=actor, request_id=None,
                     detail={"user": user, "role": role}, at=at)
