"""The document a sponsor receives: the protected result stamped with its release (governance's stamp).

The result is rendered as `cohortql count` renders it; the stamp is added in the same format.
"""

from __future__ import annotations

import json

from cohortql.protect import ProtectedResult
from cohortql.report.counts import render

FORMATS = ("json", "csv", "markdown")
REPORT_FORMATS = ("html", "pdf")  # the feasibility report (cohortql/report/document.py), stamped the same way


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
