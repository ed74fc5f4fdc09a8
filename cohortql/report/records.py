"""Governance records for people: request lists and headers, a reviewed result, the audit log, users, KPIs.

Takes the governance store's rows (cohortql.governance.models) and its KPIs as plain objects read by
attribute, so the report layer depends on nothing above it.
"""

from __future__ import annotations

import json

from rich.table import Table

from cohortql.report.terminal import table_text


def _text(table: Table, title: str | None = None) -> str:
    return table_text(table, title)


def engine_text(engine: dict) -> str:
    """The engine an approval covers (Binding.engine), in one line."""
    schemas = ", ".join(f"{k}={v}" for k, v in sorted(engine.items()) if k.endswith("schema") and v)
    return f"{engine.get('dialect')}: {engine.get('description')}" + (f" ({schemas})" if schemas else "")


def policy_text(policy: dict) -> str:
    """A disclosure policy as stored (DisclosurePolicy.to_dict()), in one line."""
    return ", ".join(f"{k}={v}" for k, v in sorted(policy.items()))


def _day(timestamp: str | None) -> str:
    return (timestamp or "")[:16].replace("T", " ")


def requests_table(requests: list) -> str:
    if not requests:
        return "no requests\n"
    table = Table(box=None, pad_edge=False)
    for column in ("id", "state", "study", "sponsor", "requester", "submitted (UTC)", "title"):
        table.add_column(column, justify="right" if column == "id" else "left")
    for r in requests:
        table.add_row(str(r.id), r.state, r.study, r.sponsor, r.requester, _day(r.submitted_at), r.title or "")
    return _text(table)


def request_header(request) -> str:
    lines = [
        f"Request {request.id}: {request.state}",
        f"Study: {request.study}    Sponsor: {request.sponsor}",
        f"Requested by {request.requester} at {_day(request.submitted_at)} UTC",
        f"Definition: {request.definition_path}",
        f"Fingerprint: {request.fingerprint}",
        f"Engine: {engine_text(request.engine)}",
        f"Policy: {policy_text(request.policy)}",
    ]
    if request.note:
        lines.append(f"Note: {request.note}")
    if request.decided_by:
        note = f": {request.decision_note}" if request.decision_note else ""
        lines.append(f"Decision: {request.state} by {request.decided_by} at {_day(request.decided_at)} UTC{note}")
    return "\n".join(lines) + "\n"


def result_table(result: dict) -> str:
    """A reviewed result as stored (ProtectedResult.to_dict()): already protected, shown as is."""
    table = Table(box=None, pad_edge=False)
    for column in ("rule", "persons remaining", "gain if dropped"):
        table.add_column(column, justify="left" if column == "rule" else "right")
    for step in result["attrition"]:
        label = step["rule"] + (" (exclusion)" if step["kind"] == "exclude" else "")
        table.add_row(label, step["display"], step.get("gain", {}).get("display", ""))
    lines = [f"final cohort: {result['final']['display']} persons ({result['entries']['display']} entry events)"]
    for breakdown in result.get("breakdowns", []):
        lines.append(f"breakdown by {', '.join(breakdown['strata'])}:")
        for cell in breakdown["cells"] + breakdown["margins"]:
            where = ", ".join(f"{k}={'all' if v is None else v}" for k, v in cell["strata"].items())
            lines.append(f"  {where}: {cell['display']}")
    return _text(table) + "\n".join(lines) + "\n"


def report_tables(report: dict | None) -> str:
    """The feasibility report's release as reviewed (pipeline.ReportAnswer.to_dict()): every table it
    shows, the series' grain and window (the forecast is estimated from that series)."""
    if report is None:
        return "not reviewed: the request was run before cohortql showed the report's tables\n"
    layout = report["layout"]
    grain = layout["grain"]
    window = layout["window"]
    place = {"site": "site", "site_group": "site group", None: "the whole data source"}[grain["place"]]
    lines = [f"series: newly eligible by {place} and {grain['period']}"
             + (f", {window[0]} to {window[-1]} (and before)" if window else "")]
    if layout["finer_grains_refused"]:
        refused = ", ".join(f"{g['place'] or 'overall'} x {g['period']}" for g in layout["finer_grains_refused"])
        lines.append(f"finer grains mostly below the threshold, not shown: {refused}")
    if report.get("cdm_source"):
        lines.append("data source: " + ", ".join(v for v in report["cdm_source"] if v))
    return "\n".join(lines) + "\n" + result_table(report["result"])


def _summary(record) -> str:
    detail = json.loads(record.detail)
    if record.action in ("role_granted", "role_revoked"):
        return f"{detail['user']} {detail['role']}"
    if record.action == "submitted":
        return f"{detail['study']} for {detail['sponsor']}, {detail['fingerprint'][:19]}"
    if record.action == "ran":
        return "result " + detail["result_sha256"][:19]
    if record.action == "released":
        return f"as {detail['format']}" + (f" to {detail['output']}" if detail.get("output") else "")
    return detail.get("note") or detail.get("reason") or ""


def audit_table(records: list) -> str:
    if not records:
        return "no audit records\n"
    table = Table(box=None, pad_edge=False)
    for column in ("seq", "at (UTC)", "actor", "action", "request", "detail", "hash"):
        table.add_column(column, justify="right" if column in ("seq", "request") else "left")
    for r in records:
        table.add_row(str(r.seq), r.at[:19].replace("T", " "), r.actor, r.action,
                      "" if r.request_id is None else str(r.request_id), _summary(r), r.hash[:19])
    return _text(table)


def audit_dicts(records: list) -> list[dict]:
    return [
        {"seq": r.seq, "at": r.at, "actor": r.actor, "action": r.action, "request": r.request_id,
         "detail": json.loads(r.detail), "prev_hash": r.prev_hash, "hash": r.hash}
        for r in records
    ]


def users_table(grants: list) -> str:
    if not grants:
        return "no users: the first `cohortql users grant` (or `users init`) makes its caller admin\n"
    table = Table(box=None, pad_edge=False)
    for column in ("user", "role", "granted by", "granted at (UTC)"):
        table.add_column(column)
    for g in grants:
        table.add_row(g.user_name, g.role, g.granted_by, _day(g.granted_at))
    return _text(table)


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:g} days"


def kpi_text(kpi) -> str:
    table = Table(box=None, pad_edge=False)
    for column in ("month", "sponsor", "requests"):
        table.add_column(column, justify="right" if column == "requests" else "left")
    for month, sponsor, n in kpi.requests_by_month_and_sponsor:
        table.add_row(month, sponsor, str(n))
    rate = "-" if kpi.approval_rate is None else f"{100 * kpi.approval_rate:.0f}%"
    return _text(table, "Requests per month and sponsor") + "\n".join([
        "",
        f"requests submitted: {kpi.submitted}; released: {kpi.released}",
        f"approval rate: {rate} ({kpi.approved} approved, {kpi.rejected} rejected)",
        f"median time from submission to approval: {_days(kpi.median_days_to_approval)}",
        f"median time from submission to release: {_days(kpi.median_days_to_release)}",
    ]) + "\n"
