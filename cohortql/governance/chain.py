"""The audit chain: append a hash-chained record, and verify the chain from its first record.

Each record's hash covers its content and the hash of the record before it, so altering,
deleting or reordering a record breaks the chain at that record. The chain is tamper-evident,
not tamper-proof: someone who can write the store can also recompute every hash after an edit;
comparing the head with one noted elsewhere (`audit verify --anchor`) catches that.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cohortql.governance.models import AuditHead, AuditRecord

GENESIS = "sha256:" + "0" * 64
HEAD_ID = 1
REDACTED = "redacted"  # a record naming earlier records whose credentials were stripped (redaction.py)


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(value) -> str:
    """The hash of a JSON-able value, independent of key order and layout."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def text_sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def timestamp(moment: datetime | None = None) -> str:
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def record_hash(prev_hash: str, at: str, actor: str, action: str, request_id: int | None, detail: str) -> str:
    # The position (seq) is not hashed: the link to the previous hash is what orders the chain,
    # which lets verify tell a moved record from an altered one.
    return sha256_of(
        {"prev": prev_hash, "at": at, "actor": actor, "action": action, "request": request_id, "detail": detail}
    )


def lock_head(session: Session) -> AuditHead:
    """Take the chain's write lock (a row lock on PostgreSQL; SQLite is locked at BEGIN IMMEDIATE)."""
    return session.execute(select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()).scalar_one()


def append(
    session: Session, *, action: str, actor: str, request_id: int | None, detail: dict, at: str
) -> AuditRecord:
    """Add one record after the head; call inside the transaction that makes the change it records."""
    head = lock_head(session)
    detail_text = canonical_json(detail)
    record = AuditRecord(
        seq=head.seq + 1,
        at=at,
        actor=actor,
        action=action,
        request_id=request_id,
        detail=detail_text,
        prev_hash=head.hash,
        hash=record_hash(head.hash, at, actor, action, request_id, detail_text),
    )
    session.add(record)
    head.seq, head.hash = record.seq, record.hash
    session.flush()
    return record


def records(session: Session, request_id: int | None = None) -> list[AuditRecord]:
    query = select(AuditRecord).order_by(AuditRecord.seq)
    if request_id is not None:
        query = query.where(AuditRecord.request_id == request_id)
    return list(session.execute(query).scalars())


@dataclass(frozen=True)
class ChainCheck:
    records: int  # records read before the first problem (all of them when intact)
    head: str  # hash of the last intact record
    first_bad: int | None  # position of the first altered, deleted or reordered record
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _link_problem(record: AuditRecord, previous_seq: int, later_hashes: dict[str, int]) -> str:
    moved_from = later_hashes.get(record.prev_hash)
    if moved_from is not None:
        return f"record {record.seq} is out of order: it was written after record {moved_from}"
    return (
        f"record {record.seq} does not follow record {previous_seq}: "
        "a record between them was deleted or replaced"
    )


def redacted_records(chain: list[AuditRecord]) -> dict[int, tuple[int, str]]:
    """seq -> (the `redacted` record's seq, hash of the detail it left) for every record a redaction rewrote."""
    claims: dict[int, tuple[int, str]] = {}
    for record in chain:
        if record.action == REDACTED:
            for seq, sha in json.loads(record.detail).get("records", {}).items():
                if int(seq) < record.seq:
                    claims[int(seq)] = (record.seq, sha)
    return claims


def _intact(record: AuditRecord, redactions: dict[int, tuple[int, str]]) -> bool:
    """The record's content matches its hash, or it is exactly what a later chained redaction left."""
    if record.hash == record_hash(record.prev_hash, record.at, record.actor, record.action, record.request_id,
                                  record.detail):
        return True
    claim = redactions.get(record.seq)
    return claim is not None and claim[1] == text_sha256(record.detail)


def check_chain(session: Session, anchor: str | None = None) -> ChainCheck:
    """Walk the chain from the genesis hash; report the first record that breaks it."""
    chain = records(session)
    head = session.get(AuditHead, HEAD_ID)
    if head is None:
        return ChainCheck(0, GENESIS, None, "the audit chain has no head: the store is damaged or not a store")
    if not chain:
        return ChainCheck(0, GENESIS, None, "the audit chain is empty: there is no record to verify")
    by_hash = {record.hash: record.seq for record in chain}
    redactions = redacted_records(chain)
    previous_hash, previous_seq, seen_anchor = GENESIS, 0, anchor is None
    for record in chain:
        problem = None
        if record.seq != previous_seq + 1:
            problem = f"record {previous_seq + 1} is missing: it was deleted"
            bad = previous_seq + 1
        elif not _intact(record, redactions):
            problem, bad = f"record {record.seq} was altered: its content does not match its hash", record.seq
        elif record.prev_hash != previous_hash:
            later = {h: s for h, s in by_hash.items() if s > record.seq}
            problem, bad = _link_problem(record, previous_seq, later), record.seq
        if problem:
            return ChainCheck(previous_seq, previous_hash, bad, problem)
        previous_hash, previous_seq = record.hash, record.seq
        seen_anchor = seen_anchor or record.hash == anchor
    if (head.seq, head.hash) != (previous_seq, previous_hash):
        noted = head.seq
        return ChainCheck(
            previous_seq,
            previous_hash,
            previous_seq + 1,
            f"the chain ends at record {previous_seq} but its head names {noted} records: "
            "the last records were deleted, or the head was changed",
        )
    if not seen_anchor:
        return ChainCheck(
            previous_seq, previous_hash, None, f"the anchor {anchor} is not in the chain: the history was rewritten"
        )
    return ChainCheck(previous_seq, previous_hash, None, None)
