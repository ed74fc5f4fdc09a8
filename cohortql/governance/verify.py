"""Verifying the store: the audit chain first, then the tables against what the records say.

The request and role tables are projections of the audit records; replaying the records and
comparing catches a table edited behind the chain's back (say, a state set to `approved`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from cohortql.governance import chain, floor, ledger
from cohortql.governance.models import AuditRecord, Request, RoleGrant
from cohortql.governance.states import TRANSITIONS

_SUBMITTED_FIELDS = ("study", "sponsor", "fingerprint", "engine", "policy")


@dataclass(frozen=True)
class Verification:
    chain: chain.ChainCheck
    problems: list[str] = field(default_factory=list)  # the tables against the records (when the chain holds)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems

    @property
    def first_problem(self) -> str | None:
        return self.chain.problem or (self.problems[0] if self.problems else None)


def _replay(records: list[AuditRecord]) -> tuple[dict[int, dict], set[tuple[str, str]], dict[int, str], list[str]]:
    requests: dict[int, dict] = {}
    grants: set[tuple[str, str]] = set()
    problems = []
    ledger_entries: dict[int, str] = {}
    for record in records:
        detail = json.loads(record.detail)
        if record.action == "role_granted":
            grants.add((detail["user"], detail["role"]))
            continue
        if record.action == "role_revoked":
            grants.discard((detail["user"], detail["role"]))
            continue
        if record.action == floor.ACTION:
            continue
        if record.action == chain.REDACTED:
            for request_id, change in detail["results"].items():
                replayed = requests.get(int(request_id), {})
                if change and replayed.get("result_sha256") == change["from"]:
                    replayed["result_sha256"] = change["to"]
            continue
        expected = requests.setdefault(record.request_id, {"state": None})
        follows, after = TRANSITIONS[record.action]
        if expected["state"] not in follows:
            problems.append(f"record {record.seq} ({record.action}) cannot follow state {expected['state']} "
                            f"of request {record.request_id}")
        if record.action == "submitted":
            expected.update({name: detail[name] for name in _SUBMITTED_FIELDS},
                            requester=record.actor, definition_sha256=detail["definition_sha256"],
                            result_sha256=None, decided_by=None)
        elif record.action == "ran":
            expected["result_sha256"] = detail["result_sha256"]
            if "ledger" in detail:
                ledger_entries[record.request_id] = detail["ledger"]["entry_sha256"]
        elif record.action not in ("released", "release_failed"):
            expected["decided_by"] = record.actor
        expected["state"] = after or expected["state"]
    return requests, grants, ledger_entries, problems


def _compare(row: Request, expected: dict) -> list[str]:
    actual = {name: getattr(row, name) for name in (*_SUBMITTED_FIELDS, "state", "requester", "result_sha256",
                                                     "decided_by")}
    actual["definition_sha256"] = chain.text_sha256(row.definition_text)
    differing = sorted(name for name, value in actual.items() if expected.get(name) != value)
    problems = [f"request {row.id}: {name} in the table does not match the audit record" for name in differing]
    if row.result is not None and chain.sha256_of(row.result) != row.result_sha256:
        problems.append(f"request {row.id}: the stored result does not match its hash")
    return problems


def verify(session: Session, anchor: str | None = None) -> Verification:
    checked = chain.check_chain(session, anchor)
    if not checked.ok:
        return Verification(checked)
    expected_requests, expected_grants, ledger_entries, problems = _replay(chain.records(session))
    rows = {row.id: row for row in session.execute(select(Request)).scalars()}
    for request_id in sorted(expected_requests.keys() - rows.keys()):
        problems.append(f"request {request_id} is in the audit record but missing from the table")
    for request_id in sorted(rows.keys() - expected_requests.keys()):
        problems.append(f"request {request_id} has no audit record: it was added behind the chain's back")
    for request_id in sorted(rows.keys() & expected_requests.keys()):
        problems += _compare(rows[request_id], expected_requests[request_id])
    actual_grants = {(g.user_name, g.role) for g in session.execute(select(RoleGrant)).scalars()}
    for user, role in sorted(actual_grants - expected_grants):
        problems.append(f"role grant {user}={role} has no audit record")
    for user, role in sorted(expected_grants - actual_grants):
        problems.append(f"role grant {user}={role} is in the audit record but missing from the table")
    problems += floor.check_table(session, chain.records(session))
    problems += ledger.check_table(session, ledger_entries)
    return Verification(checked, problems)
