"""The release ledger's storage: one entry per reviewed request, what it releases and how to recompute it.

An entry is written with the reviewed result (in the transaction of its `ran` audit record, which
carries the entry's hash); it counts against later releases once its request is approved or
released, on the same CDM. Person sets are never stored (cohortql/governance/release_check.py recomputes them).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cohortql.governance import chain
from cohortql.governance.models import LedgerEntry, Request
from cohortql.governance.release_check import CheckedRelease, EarlierRelease, protect_against_ledger

COUNTING_STATES = ("approved", "released")  # a steward approved these numbers for a sponsor


@dataclass(frozen=True)
class LedgerRecord:
    """What the release ledger keeps with a reviewed result (cohortql/governance/release_check.py made it)."""

    breakdown: tuple[str, ...]
    hidden: frozenset[str]  # counts hidden against earlier releases
    cells: list[dict]
    interacting: tuple[str, ...]  # earlier releases on the same CDM sharing persons with this one


def entry_content(entry: LedgerEntry) -> dict:
    return {"cdm": entry.cdm, "definition_text": entry.definition_text, "breakdown": entry.breakdown,
            "hidden": entry.hidden, "cells": entry.cells}


def add(session: Session, request: Request, *, breakdown: tuple[str, ...], hidden: frozenset[str],
        cells: list[dict], at: str) -> str:
    """Record what the request would release; returns the entry's hash for its audit record."""
    entry = LedgerEntry(request_id=request.id, cdm=request.engine, definition_text=request.definition_text,
                        breakdown=list(breakdown), hidden=sorted(hidden), cells=cells, recorded_at=at)
    session.add(entry)
    return chain.sha256_of(entry_content(entry))


def hidden_of(session: Session, request_id: int) -> frozenset[str] | None:
    entry = session.get(LedgerEntry, request_id)
    return None if entry is None else frozenset(entry.hidden)


def earlier(session: Session, cdm: dict, request_id: int) -> list[EarlierRelease]:
    """The entries a release of `request_id` on `cdm` is checked against, oldest first."""
    rows = session.execute(
        select(LedgerEntry, Request).join(Request, Request.id == LedgerEntry.request_id)
        .where(Request.state.in_(COUNTING_STATES), Request.id != request_id).order_by(Request.id)
    ).all()
    return [
        EarlierRelease(f"request {request.id} ({request.sponsor}, {request.state})", entry.definition_text,
                       tuple(entry.breakdown), request.policy, entry.cells)
        for entry, request in rows if entry.cdm == cdm
    ]


def check_table(session: Session, expected: dict[int, str]) -> list[str]:
    """Every entry against the hash its `ran` record carries (verify's replay)."""
    rows = {entry.request_id: entry for entry in session.execute(select(LedgerEntry)).scalars()}
    problems = [f"the ledger entry of request {r} has no audit record" for r in sorted(rows.keys() - expected.keys())]
    problems += [f"the ledger entry of request {r} is in the audit record but missing"
                 for r in sorted(expected.keys() - rows.keys())]
    problems += [f"the ledger entry of request {r} does not match its audit record"
                 for r in sorted(rows.keys() & expected.keys())
                 if chain.sha256_of(entry_content(rows[r])) != expected[r]]
    return problems


def check(store, request: Request, compiled, target, policy) -> CheckedRelease:
    """The request's protected result against every approved or released request on its CDM."""
    with store.reading() as session:
        against = earlier(session, request.engine, request.id)
    return protect_against_ledger(compiled, target, policy, against, label=f"request {request.id}")


def record_of(checked: CheckedRelease) -> LedgerRecord:
    return LedgerRecord(checked.breakdown, checked.verdict.hide, checked.cells, checked.verdict.interacting)


def summary(ledger_detail: dict | None) -> str:
    """The ledger's part of `review show`: which earlier releases interact, and what was hidden for them."""
    if ledger_detail is None:
        return "not checked (the result was reviewed before the ledger existed)\n"
    interacting = ", ".join(ledger_detail["interacting"]) or "none"
    lines = [f"interacts with: {interacting}"]
    if ledger_detail["hidden"]:
        lines.append("hidden against them (shown as >=k): " + ", ".join(ledger_detail["hidden"]))
    return "\n".join(lines) + "\n"
