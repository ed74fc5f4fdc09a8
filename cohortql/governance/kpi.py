"""Indicators of the feasibility process, computed from the audit records.

Requests per month (of submission) and sponsor; the share of decided requests that were
approved; median days from submission to the first approval and to the first release.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from statistics import median

from cohortql.governance.chain import parse_timestamp
from cohortql.governance.models import AuditRecord

_DAY_SECONDS = 86400


@dataclass(frozen=True)
class Kpi:
    requests_by_month_and_sponsor: tuple[tuple[str, str, int], ...]
    submitted: int
    approved: int  # requests whose first decision was an approval
    rejected: int
    released: int
    median_days_to_approval: float | None
    median_days_to_release: float | None

    @property
    def approval_rate(self) -> float | None:
        decided = self.approved + self.rejected
        return self.approved / decided if decided else None

    def to_dict(self) -> dict:
        return {
            "requests_by_month_and_sponsor": [
                {"month": month, "sponsor": sponsor, "requests": n}
                for month, sponsor, n in self.requests_by_month_and_sponsor
            ],
            "submitted": self.submitted,
            "approved": self.approved,
            "rejected": self.rejected,
            "released": self.released,
            "approval_rate": self.approval_rate,
            "median_days_to_approval": self.median_days_to_approval,
            "median_days_to_release": self.median_days_to_release,
        }


def _median_days(spans: list[float]) -> float | None:
    return round(median(spans) / _DAY_SECONDS, 2) if spans else None


def compute(records: list[AuditRecord]) -> Kpi:
    submitted: dict[int, tuple[str, str]] = {}  # request -> (timestamp, sponsor)
    first: dict[str, dict[int, str]] = {"decision": {}, "approved": {}, "released": {}}
    decisions: Counter[str] = Counter()
    for record in records:
        request = record.request_id
        if record.action == "submitted":
            submitted[request] = (record.at, json.loads(record.detail)["sponsor"])
        elif record.action in ("approved", "rejected") and request not in first["decision"]:
            first["decision"][request] = record.at
            decisions[record.action] += 1
        if record.action in ("approved", "released"):
            first[record.action].setdefault(request, record.at)
    per_month = Counter((at[:7], sponsor) for at, sponsor in submitted.values())

    def spans(action: str) -> list[float]:
        return [
            (parse_timestamp(at) - parse_timestamp(submitted[request][0])).total_seconds()
            for request, at in first[action].items()
            if request in submitted
        ]

    return Kpi(
        requests_by_month_and_sponsor=tuple((m, s, n) for (m, s), n in sorted(per_month.items())),
        submitted=len(submitted),
        approved=decisions["approved"],
        rejected=decisions["rejected"],
        released=len(first["released"]),
        median_days_to_approval=_median_days(spans("approved")),
        median_days_to_release=_median_days(spans("released")),
    )
