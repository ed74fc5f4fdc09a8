"""The stamp on the document a sponsor receives: what the approval covered, who released it, where it is recorded.

The document itself (the protected result with this stamp, in each format) is rendered by the
report layer: cohortql.report.release.
"""

from __future__ import annotations

import json

from cohortql.governance.models import AuditRecord, Request


def stamp(request: Request, approval: AuditRecord, release: AuditRecord) -> dict:
    return {
        "request": request.id,
        "study": request.study,
        "sponsor": request.sponsor,
        "fingerprint": request.fingerprint,
        "policy": request.policy,
        "engine": request.engine,
        "requested_by": request.requester,
        "submitted_at": request.submitted_at,
        "approved_by": approval.actor,
        "approved_at": approval.at,
        "approval_note": json.loads(approval.detail).get("note"),
        "released_by": release.actor,
        "released_at": release.at,
        "audit_record": {"seq": release.seq, "hash": release.hash},
    }
