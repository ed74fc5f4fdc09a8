"""The document a sponsor receives: the protected result stamped with its release (governance's stamp).

The result is rendered as `cohortql count` renders it; the stamp is added in the same format.
"""

from __future__ import annotations

import datetime
import json

from cohortql.protect import DisclosurePolicy, ProtectedResult
from cohortql.report.counts import render
from cohortql.report.records import engine_text

FORMATS = ("json", "csv", "markdown")
REPORT_FORMATS = ("html", "pdf")  # the feasibility report (cohortql/report/document.py), stamped the same way


def _policy_text(policy: dict) -> str:
    p = DisclosurePolicy.from_dict(policy)
    name = policy.get("name", "small-cell suppression")
    return "; ".join([
        f"{name}: threshold {p.threshold} (small counts shown as {p.suppressed_text})",
        f"0 shown as {p.suppressed_text}" if p.suppress_zero else "0 shown exactly",
        f"rounded to a multiple of {p.rounding_base}" if p.rounding_base else "no rounding",
        f"complementary suppression {'on' if p.complementary else 'off'}",
        f"attrition differences {'protected' if p.attrition_differences else 'not protected'}",
    ])


def _time_text(value: str) -> str:
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.utcoffset() is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _shown(key: str, value) -> str:
    """A stamp field as a person reads it (the JSON keeps the values as they are)."""
    if value is None:
        return "none"
    if key == "policy":
        return _policy_text(value)
    if key == "engine":
        return engine_text(value)
    if key == "audit_record":
        return f"record {value['seq']}, {value['hash']}"
    if key.endswith("_at") and isinstance(value, str):
        return _time_text(value)
    return str(value)


def render_release(result: ProtectedResult, release_stamp: dict, fmt: str) -> str:
    if fmt == "json":
        document = {"release": release_stamp, "result": json.loads(render(result, "json"))}
        return json.dumps(document, indent=2) + "\n"
    if fmt == "csv":
        # The stamp as leading comment lines; the table below is the same CSV as `cohortql count`.
        lines = [f"# {key}: {_shown(key, value)}" for key, value in release_stamp.items()]
        return "\n".join(["# cohortql release", *lines]) + "\n" + render(result, "csv")
    if fmt == "markdown":
        rows = [f"| {key} | {_shown(key, value).replace('|', chr(92) + '|')} |" for key, value in release_stamp.items()]
        table = ["", "### Release", "", "| field | value |", "|---|---|", *rows]
        return render(result, "markdown") + "\n".join(table) + "\n"
    raise ValueError(f"unknown release format {fmt!r}")
