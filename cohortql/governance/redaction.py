"""`cohortql admin redact`: strip credentials from a store written before they were kept out.

Older versions stored an engine description with a `?password=...` query parameter in the
request, its result and the audit records. A redaction rewrites those texts in place and appends
one chained `redacted` record naming every record it rewrote (with the hash of the new detail)
and every stored result whose hash it changed. The rewritten records keep their original hashes,
so the chain still links and anchors noted earlier still hold; `audit verify` accepts a record
whose content no longer matches its hash only when a later `redacted` record names it with the
hash of exactly the content it now has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from cohortql.credentials import redact
from cohortql.governance import chain
from cohortql.governance.identity import require_role
from cohortql.governance.models import AuditRecord, Request
from cohortql.governance.store import Store

ACTION = chain.REDACTED


@dataclass(frozen=True)
class Redaction:
    records: tuple[int, ...]  # audit records whose detail was rewritten
    requests: tuple[int, ...]  # requests whose engine or result was rewritten
    record: AuditRecord | None  # the `redacted` record; None when there was nothing to redact


def redact_store(store: Store, actor: str, *, now: datetime | None = None) -> Redaction:
    at = chain.timestamp(now)
    with store.transaction() as session:
        chain.lock_head(session)
        require_role(session, actor, "admin")
        rewritten: dict[str, str] = {}
        for record in chain.records(session):
            detail = chain.canonical_json(redact(json.loads(record.detail)))
            if detail != record.detail:
                record.detail = detail
                rewritten[str(record.seq)] = chain.text_sha256(detail)
        results: dict[str, dict] = {}
        for request in session.execute(select(Request).order_by(Request.id)).scalars():
            engine, result = redact(request.engine), redact(request.result)
            if engine == request.engine and result == request.result:
                continue
            request.engine = engine
            if result != request.result:
                new_sha = chain.sha256_of(result)
                results[str(request.id)] = {"from": request.result_sha256, "to": new_sha}
                request.result, request.result_sha256 = result, new_sha
            results.setdefault(str(request.id), {})
        if not rewritten and not results:
            return Redaction((), (), None)
        session.flush()
        record = chain.append(session, action=ACTION, actor=actor, request_id=None, at=at,
                              detail={"records": rewritten, "results": results})
        return Redaction(tuple(int(s) for s in rewritten), tuple(int(r) for r in results), record)
