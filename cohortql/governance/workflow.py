"""The request life cycle (`states.py`): each change is one transaction holding the state change and its
audit record.

Every function locks the chain head first, so writes are serialised; the state change is also a
conditional UPDATE (`WHERE state IN ...`), so a decision taken on a stale read cannot land.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from cohortql.governance import chain, floor, ledger
from cohortql.governance.binding import Binding
from cohortql.governance.errors import NotFound, PermissionDenied, Refused
from cohortql.governance.identity import require_role, roles_of
from cohortql.governance.models import AuditRecord, Request
from cohortql.governance.states import TRANSITIONS
from cohortql.governance.store import Store
from cohortql.governance.verify import verify
from cohortql.protect.policy import DisclosurePolicy, PolicyError

# The feasibility report's release (pipeline.ReportAnswer.to_dict()), kept in the reviewed result
# beside the count's numbers: reviewed with them, and checked by `release --format html|pdf`.
REPORT_KEY = "feasibility_report"


@dataclass(frozen=True)
class Submission:
    study: str
    sponsor: str
    note: str | None
    title: str | None
    definition_path: str
    definition_text: str
    binding: Binding


def binding_of(request: Request) -> Binding:
    return Binding(request.fingerprint, request.engine, request.policy)


def get(session: Session, request_id: int) -> Request:
    request = session.get(Request, request_id)
    if request is None:
        raise NotFound(f"no request {request_id}", "cohortql review list --all shows every request")
    return request


def _describe_state(request: Request) -> str:
    by = f"by {request.decided_by} at {request.decided_at}"
    note = f": {request.decision_note}" if request.decision_note else ""
    return {
        "submitted": "is still waiting for a steward's decision",
        "approved": f"was already approved {by}",
        "rejected": f"was rejected {by}{note}",
        "withdrawn": f"was withdrawn {by}{note}",
        "revoked": f"had its approval revoked {by}{note}",
        "released": "was already released",
    }[request.state]


def _refuse_state(request: Request, verb: str) -> Refused:
    hints = {
        "rejected": "change the definition and submit it again",
        "withdrawn": "submit it again",
        "revoked": "submit it again for a new review",
        "submitted": f"a steward decides it first: cohortql review show {request.id}",
    }
    return Refused(f"cannot {verb} request {request.id}: it {_describe_state(request)}", hints.get(request.state))


def _transition(session: Session, request: Request, action: str, verb: str, **values) -> None:
    """Apply `action` only if the request is still in a state it may follow; a decision taken first wins."""
    allowed, after = TRANSITIONS[action]
    if request.state not in allowed:
        raise _refuse_state(request, verb)
    changed = session.execute(
        update(Request)
        .where(Request.id == request.id, Request.state.in_(sorted(allowed)))
        .values(state=after, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(request)
    if changed != 1:
        raise _refuse_state(request, verb)


def _not_own(request: Request, actor: str, verb: str) -> None:
    if request.requester == actor:
        raise PermissionDenied(f"{actor} cannot {verb} request {request.id}: it is their own request",
                               "another steward must decide it")


def _require_floor(session: Session, policy: dict, what: str) -> None:
    """Refuse a policy looser than the deployment's floor, naming the floor."""
    try:
        candidate = DisclosurePolicy.from_dict(policy)
    except (KeyError, TypeError, PolicyError):
        raise Refused(f"{what} cannot be read as a disclosure policy") from None
    refusal = floor.current(session).refusal(candidate, what)
    if refusal is not None:
        raise refusal


def submit(store: Store, actor: str, submission: Submission, *, now: datetime | None = None) -> Request:
    at = chain.timestamp(now)
    binding = submission.binding
    with store.transaction() as session:
        chain.lock_head(session)
        require_role(session, actor, "requester")
        _require_floor(session, binding.policy, "the disclosure policy of this request")
        request = Request(
            state="submitted", study=submission.study, sponsor=submission.sponsor, title=submission.title,
            note=submission.note, requester=actor, submitted_at=at, definition_path=submission.definition_path,
            definition_text=submission.definition_text, fingerprint=binding.fingerprint, engine=binding.engine,
            policy=binding.policy,
        )
        session.add(request)
        session.flush()
        chain.append(session, action="submitted", actor=actor, request_id=request.id, at=at, detail={
            "study": submission.study, "sponsor": submission.sponsor, "title": submission.title,
            "note": submission.note, "definition_path": submission.definition_path,
            "definition_sha256": chain.text_sha256(submission.definition_text), "fingerprint": binding.fingerprint,
            "engine": binding.engine, "policy": binding.policy,
        })
        return request


def record_result(store: Store, actor: str, request_id: int, result: dict, *,
                  ledger_record: ledger.LedgerRecord | None = None, now: datetime | None = None) -> Request:
    """Keep the protected result a reviewer saw (and its ledger entry); the first one recorded stays."""
    at = chain.timestamp(now)
    with store.transaction() as session:
        chain.lock_head(session)
        request = get(session, request_id)
        if not roles_of(session, actor):
            raise PermissionDenied(f"{actor} has no role in this store", "an admin can grant one: cohortql users grant")
        if request.result_sha256 is not None:
            return request
        ran = Binding(result.get("fingerprint"), result.get("database"), result.get("policy"))
        reasons = binding_of(request).mismatches(ran)
        if reasons:
            raise Refused(f"this result does not answer request {request_id}: " + "; ".join(reasons))
        sha = chain.sha256_of(result)
        _transition(session, request, "ran", "review", result=result, result_sha256=sha)
        detail = {"result_sha256": sha}
        if ledger_record is not None:
            entry_sha = ledger.add(session, request, breakdown=ledger_record.breakdown, hidden=ledger_record.hidden,
                                   cells=ledger_record.cells, at=at)
            detail["ledger"] = {"entry_sha256": entry_sha, "hidden": sorted(ledger_record.hidden),
                                "interacting": list(ledger_record.interacting)}
        chain.append(session, action="ran", actor=actor, request_id=request_id, at=at, detail=detail)
        return request


def approve(store: Store, actor: str, request_id: int, note: str | None, *, policy_now: dict,
            now: datetime | None = None) -> Request:
    at = chain.timestamp(now)
    with store.transaction() as session:
        chain.lock_head(session)
        request = get(session, request_id)
        require_role(session, actor, "steward")
        _not_own(request, actor, "approve")
        _require_floor(session, request.policy, f"the disclosure policy of request {request_id}")
        if request.state == "submitted" and request.result_sha256 is None:
            raise Refused(f"request {request_id} has no reviewed result yet",
                          f"look at it first: cohortql review show {request_id}")
        if request.state == "submitted" and policy_now != request.policy:
            raise Refused(f"cannot approve request {request_id}: the disclosure policy changed since it was "
                          "submitted", "the requester submits it again under the policy in force")
        _transition(session, request, "approved", "approve", decided_by=actor, decided_at=at, decision_note=note)
        chain.append(session, action="approved", actor=actor, request_id=request_id, at=at, detail={
            "note": note, "fingerprint": request.fingerprint, "engine": request.engine, "policy": request.policy,
            "result_sha256": request.result_sha256,
        })
        return request


def _close(store: Store, actor: str, request_id: int, reason: str | None, *, verb: str, action: str,
           now: datetime | None, check) -> Request:
    at = chain.timestamp(now)
    with store.transaction() as session:
        chain.lock_head(session)
        request = get(session, request_id)
        check(session, request)
        _transition(session, request, action, verb, decided_by=actor, decided_at=at, decision_note=reason)
        chain.append(session, action=action, actor=actor, request_id=request_id, at=at, detail={"reason": reason})
        return request


def reject(store: Store, actor: str, request_id: int, reason: str, *, now: datetime | None = None) -> Request:
    def check(session, request):
        require_role(session, actor, "steward")
        _not_own(request, actor, "reject")

    return _close(store, actor, request_id, reason, verb="reject", action="rejected", now=now, check=check)


def revoke(store: Store, actor: str, request_id: int, reason: str, *, now: datetime | None = None) -> Request:
    def check(session, request):
        require_role(session, actor, "steward")

    return _close(store, actor, request_id, reason, verb="revoke the approval of", action="revoked", now=now,
                  check=check)


def withdraw(store: Store, actor: str, request_id: int, reason: str | None, *,
             now: datetime | None = None) -> Request:
    def check(session, request):
        if request.requester != actor and "admin" not in roles_of(session, actor):
            raise PermissionDenied(f"{actor} cannot withdraw request {request_id}: only its requester "
                                   f"({request.requester}) or an admin can")

    return _close(store, actor, request_id, reason, verb="withdraw", action="withdrawn", now=now, check=check)


def approval_record(session: Session, request_id: int) -> AuditRecord:
    return [r for r in chain.records(session, request_id) if r.action == "approved"][-1]


def check_releasable(session: Session, request: Request, actor: str, current: Binding) -> None:
    """Who may release, the state, and the binding; `release` repeats this under the lock."""
    if request.requester != actor:
        require_role(session, actor, "steward")
    if request.state not in TRANSITIONS["released"][0]:
        raise _refuse_state(request, "release")
    reasons = binding_of(request).mismatches(current)
    if reasons:
        raise Refused(f"cannot release request {request.id}: it no longer matches its approval: "
                      + "; ".join(reasons), "submit the changed definition for a new review")


Deliver = Callable[[Request, AuditRecord, AuditRecord], None]


def release(store: Store, actor: str, request_id: int, current: Binding, result: dict, *, fmt: str,
            output: str | None, deliver: Deliver | None = None,
            now: datetime | None = None) -> tuple[Request, AuditRecord, AuditRecord]:
    """Release exactly what was approved: `deliver(request, approval, record)` writes the document inside
    the transaction, so the `released` record commits only once the document is written; if `deliver`
    raises, nothing is recorded (the caller records `release_failed`).
    Returns the request, its approval and the release record."""
    at = chain.timestamp(now)
    with store.transaction() as session:
        chain.lock_head(session)
        check = verify(session)
        if not check.ok:
            raise Refused(f"cannot release request {request_id}: the audit record does not verify: "
                          f"{check.first_problem}", "cohortql audit verify shows the details")
        request = get(session, request_id)
        check_releasable(session, request, actor, current)
        _require_floor(session, request.policy, f"the disclosure policy of request {request_id}")
        reviewed = request.result or {}
        if REPORT_KEY in result and REPORT_KEY not in reviewed:
            raise Refused(f"cannot release request {request_id} as the feasibility report: its tables were not "
                          "reviewed (reviewed before cohortql showed them)", "submit it again for a new review")
        approved = reviewed if REPORT_KEY in result else {k: v for k, v in reviewed.items() if k != REPORT_KEY}
        if chain.sha256_of(result) != chain.sha256_of(approved):
            raise Refused(f"cannot release request {request_id}: the numbers differ from those the steward "
                          "approved (the warehouse data changed?)", "submit it again for a new review")
        _transition(session, request, "released", "release")
        record = chain.append(session, action="released", actor=actor, request_id=request_id, at=at, detail={
            "fingerprint": request.fingerprint, "engine": request.engine, "policy": request.policy,
            "result_sha256": request.result_sha256, "format": fmt, "output": output,
        })
        approval = approval_record(session, request_id)
        if deliver is not None:
            deliver(request, approval, record)
        return request, approval, record


def release_failed(store: Store, actor: str, request_id: int, *, fmt: str, output: str | None, reason: str,
                   now: datetime | None = None) -> AuditRecord:
    """Record that a release's document could not be written: nothing was delivered, the state stays."""
    at = chain.timestamp(now)
    with store.transaction() as session:
        chain.lock_head(session)
        get(session, request_id)
        return chain.append(session, action="release_failed", actor=actor, request_id=request_id, at=at,
                            detail={"format": fmt, "output": output, "reason": reason})
