"""The document a sponsor receives: the protected result, stamped with what the approval covered.

The result itself is rendered by the report layer (which takes only a ProtectedResult); this
module adds the stamp in the same format.
"""

from __future__ import annotations

import json

from cohortql.governance.models import AuditRecord, Request
from cohortql.protect import ProtectedResult
from cohortql.report.counts import render

FORMATS = ("json", "csv", "markdown")
REPORT_FORMATS = ("html", "pdf")  # the feasibility report, written by cohortql/report/document.py


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


def _flat(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_flat(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def render_release(result: ProtectedResult, release_stamp: dict, fmt: str) -> str:
    if fmt == "json":
        document = {"release": release_stamp, "result": json.loads(render(result, "json"))}
        return json.dumps(document, indent=2) + "\n"
    if fmt == "csv":
        # The stamp as leading comment lines; the table below is the same CSV as `cohortql count`.
        lines = [f"# {key}: {_flat(value)}" for key, value in release_stamp.items()]
        return "\n".join(["# cohortql release", *lines]) + "\n" + render(result, "csv")
    if fmt == "markdown":
        rows = [f"| {key} | {_flat(value).replace('|', chr(92) + '|')} |" for key, value in release_stamp.items()]
        table = ["", "### Release", "", "| field | value |", "|---|---|", *rows]
        return render(result, "markdown") + "\n".join(table) + "\n"
    raise ValueError(f"unknown release format {fmt!r}")
