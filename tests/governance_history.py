"""Builds a governance store with a known history: requests at chosen times, decided and released
after chosen delays, every step through the real workflow (so the audit chain is genuine)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from cohortql.governance import identity, workflow
from cohortql.governance.binding import Binding
from cohortql.governance.store import Store

REQUESTER, STEWARD, ADMIN = "rita", "stella", "ada"
BINDING = Binding(
    "sha256:" + "ab" * 32,
    {"dialect": "duckdb", "description": "test engine", "cdm_schema": None, "vocab_schema": None},
    {"name": "test policy", "threshold": 10},
)


def result_for(binding: Binding = BINDING, final: int = 42) -> dict:
    """A protected result as `ProtectedResult.to_dict()` shapes it, for this binding."""
    return {
        "title": "test cohort",
        "final": {"value": final, "display": str(final)},
        "entries": {"value": 100, "display": "100"},
        "attrition": [{"rule": "entry", "kind": "entry", "value": 100, "display": "100"},
                      {"rule": "adult", "kind": "include", "value": final, "display": str(final),
                       "gain": {"value": None, "display": "<10"}}],
        "breakdowns": [],
        "policy": binding.policy,
        "fingerprint": binding.fingerprint,
        "database": binding.engine,
    }


@dataclass(frozen=True)
class Planned:
    sponsor: str
    submitted: datetime
    outcome: str | None = None  # approved | rejected | withdrawn; None: still waiting
    decided_after: timedelta = timedelta(days=1)
    released_after: timedelta | None = None  # from submission; only for approved requests


def setup_users(store: Store, at: datetime) -> None:
    identity.grant(store, ADMIN, REQUESTER, "requester", now=at)
    identity.grant(store, ADMIN, STEWARD, "steward", now=at)


def submit(store: Store, sponsor: str = "Acme", at: datetime | None = None, binding: Binding = BINDING) -> int:
    submission = workflow.Submission(
        study="S-1", sponsor=sponsor, note=None, title="test cohort", definition_path="/defs/test.cohort",
        definition_text="# test\n", binding=binding,
    )
    return workflow.submit(store, REQUESTER, submission, now=at).id


def populate(store: Store, plans: list[Planned]) -> list[int]:
    """Apply every planned step in time order; returns the request ids in the order of `plans`."""
    setup_users(store, min(p.submitted for p in plans) - timedelta(days=1))
    events = []
    for index, plan in enumerate(plans):
        events.append((plan.submitted, 0, index, "submit"))
        if plan.outcome:
            events.append((plan.submitted + plan.decided_after, 1, index, plan.outcome))
        if plan.released_after is not None:
            events.append((plan.submitted + plan.released_after, 2, index, "release"))
    ids: dict[int, int] = {}
    for at, _order, index, step in sorted(events):
        plan = plans[index]
        if step == "submit":
            ids[index] = submit(store, plan.sponsor, at)
            continue
        request_id = ids[index]
        if step == "approved":
            workflow.record_result(store, STEWARD, request_id, result_for(), now=at - timedelta(minutes=5))
            workflow.approve(store, STEWARD, request_id, "fine", policy_now=BINDING.policy, now=at)
        elif step == "rejected":
            workflow.reject(store, STEWARD, request_id, "too broad", now=at)
        elif step == "withdrawn":
            workflow.withdraw(store, REQUESTER, request_id, "no longer needed", now=at)
        else:
            workflow.release(store, REQUESTER, request_id, BINDING, result_for(), fmt="json", output=None, now=at)
    return [ids[i] for i in range(len(plans))]


@contextmanager
def postgres_schema(database_url: str) -> Iterator[str]:
    """A fresh schema in the session's scratch database; yields a store URL whose search_path is it."""
    name = f"gov_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(database_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield make_url(database_url).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()
