"""The audit chain detects tampering done directly in the store (SQL UPDATE / DELETE), and the KPI
report reads a store with a generated history."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from cohortql.governance import chain, kpi, workflow
from cohortql.governance.errors import Refused
from cohortql.governance.store import Store, store_url
from cohortql.governance.verify import verify
from tests.governance_history import BINDING, REQUESTER, Planned, populate, result_for

T0 = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)

# Records 1-3 grant roles (admin to ada on the empty store, then requester, steward); request 1 is
# records 4 (submitted), 5 (ran), 6 (approved), 7 (released); request 2 is 8 (submitted), 9 (ran), 10 (approved).
HISTORY = [
    Planned("Acme", T0, "approved", decided_after=2 * DAY, released_after=3 * DAY),
    Planned("Beta", T0 + 10 * DAY, "approved", decided_after=DAY),
]


@pytest.fixture
def history(store):
    populate(store, HISTORY)
    return store


def _sql(store: Store, *statements: str) -> None:
    """Tamper as someone with write access to the store would: raw SQL, behind the workflow's back."""
    with store.engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)


def _verify(store: Store, anchor: str | None = None):
    with store.reading() as session:
        return verify(session, anchor)


def test_an_untouched_history_verifies(history):
    result = _verify(history)
    assert result.ok, result.first_problem
    assert result.chain.records == 10
    with history.reading() as session:
        actions = [r.action for r in chain.records(session)]
    assert actions == ["role_granted"] * 3 + ["submitted", "ran", "approved", "released"] + [
        "submitted", "ran", "approved"]


@pytest.mark.parametrize(
    ("tampering", "first_bad", "message"),
    [
        (["UPDATE audit_record SET actor = 'mallory' WHERE seq = 6"], 6, "record 6 was altered"),
        (["UPDATE audit_record SET detail = replace(detail, 'fine', 'FINE') WHERE seq = 6"], 6,
         "record 6 was altered"),
        (["DELETE FROM audit_record WHERE seq = 5"], 5, "record 5 is missing: it was deleted"),
        (["DELETE FROM audit_record WHERE seq = 5", "UPDATE audit_record SET seq = seq - 1 WHERE seq > 5"], 5,
         "record 5 does not follow record 4: a record between them was deleted or replaced"),
        (["UPDATE audit_record SET seq = 100 WHERE seq = 6", "UPDATE audit_record SET seq = 6 WHERE seq = 7",
          "UPDATE audit_record SET seq = 7 WHERE seq = 100"], 6,
         "record 6 is out of order: it was written after record 7"),
        (["DELETE FROM audit_record WHERE seq = 10"], 10,
         "the chain ends at record 9 but its head names 10 records"),
    ],
    ids=["actor", "detail", "delete", "delete-renumber", "swap", "delete-last"],
)
def test_tampering_with_the_records_is_reported_at_the_first_bad_record(history, tampering, first_bad, message):
    _sql(history, *tampering)
    result = _verify(history)
    assert not result.ok
    assert result.chain.first_bad == first_bad
    assert message in result.chain.problem


def test_only_the_first_of_several_alterations_is_reported(history):
    _sql(history, "UPDATE audit_record SET actor = 'x' WHERE seq IN (8, 4)")
    assert _verify(history).chain.first_bad == 4


@pytest.mark.parametrize(
    ("tampering", "message"),
    [
        ("UPDATE request SET state = 'approved' WHERE id = 1", "request 1: state in the table does not match"),
        ("UPDATE request SET fingerprint = 'sha256:forged' WHERE id = 2", "request 2: fingerprint in the table"),
        ("UPDATE request SET definition_text = 'entry all condition X' WHERE id = 2",
         "request 2: definition_sha256 in the table"),
        ("UPDATE request SET decided_by = 'mallory' WHERE id = 2", "request 2: decided_by in the table"),
        ("DELETE FROM request WHERE id = 2", "request 2 is in the audit record but missing from the table"),
        ("INSERT INTO role_grant VALUES ('mallory', 'steward', 'ada', '2024-01-01T00:00:00.000000Z')",
         "role grant mallory=steward has no audit record"),
    ],
    ids=["state", "fingerprint", "definition", "decider", "deleted-request", "forged-grant"],
)
def test_tables_edited_behind_the_chain_are_reported(history, tampering, message):
    _sql(history, tampering)
    result = _verify(history)
    assert result.chain.ok and not result.ok
    assert any(message in problem for problem in result.problems), result.problems


def test_a_forged_result_is_reported(history):
    with history.reading() as session:
        forged = dict(workflow.get(session, 2).result, final={"value": 3, "display": "3"})
    _sql(history, f"UPDATE request SET result = '{json.dumps(forged)}' WHERE id = 2")
    assert "request 2: the stored result does not match its hash" in _verify(history).problems


def test_release_refuses_on_a_tampered_store(history):
    _sql(history, "UPDATE audit_record SET actor = 'mallory' WHERE seq = 4")
    with pytest.raises(Refused, match="audit record does not verify: record 4 was altered"):
        workflow.release(history, REQUESTER, 2, BINDING, result_for(), fmt="json", output=None)


def test_a_rewritten_chain_is_caught_by_an_anchor(history):
    """Recomputing every hash after an edit defeats the chain alone; a head noted earlier does not."""
    anchor = _verify(history).chain.head
    with history.engine.begin() as connection:
        rows = connection.exec_driver_sql("SELECT seq, at, actor, action, request_id, detail FROM audit_record "
                                          "ORDER BY seq").all()
        previous = chain.GENESIS
        for seq, at, actor, action, request_id, detail in rows:
            actor = "mallory" if seq == 6 else actor
            digest = chain.record_hash(previous, at, actor, action, request_id, detail)
            connection.execute(sa.text("UPDATE audit_record SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"),
                               {"a": actor, "p": previous, "h": digest, "s": seq})
            previous = digest
        connection.execute(sa.text("UPDATE audit_head SET hash = :h"), {"h": previous})
        connection.exec_driver_sql("UPDATE request SET decided_by = 'mallory' WHERE id = 1")
    assert _verify(history).ok  # tamper-evident, not tamper-proof: see docs/governance.md
    result = _verify(history, anchor)
    assert not result.ok and "is not in the chain" in result.chain.problem


# ---- KPI ------------------------------------------------------------------------------------------


def test_kpi_on_a_generated_history(store):
    populate(store, [
        Planned("Acme", datetime(2024, 1, 3, tzinfo=UTC), "approved", decided_after=2 * DAY, released_after=4 * DAY),
        Planned("Acme", datetime(2024, 1, 20, tzinfo=UTC), "approved", decided_after=4 * DAY,
                released_after=10 * DAY),
        Planned("Beta", datetime(2024, 1, 25, tzinfo=UTC), "rejected", decided_after=DAY),
        Planned("Acme", datetime(2024, 2, 2, tzinfo=UTC), "approved", decided_after=9 * DAY),
        Planned("Beta", datetime(2024, 2, 14, tzinfo=UTC), "withdrawn"),
        Planned("Gamma", datetime(2024, 2, 28, tzinfo=UTC)),
    ])
    with store.reading() as session:
        indicators = kpi.compute(chain.records(session))
    assert indicators.requests_by_month_and_sponsor == (
        ("2024-01", "Acme", 2), ("2024-01", "Beta", 1), ("2024-02", "Acme", 1), ("2024-02", "Beta", 1),
        ("2024-02", "Gamma", 1))
    assert (indicators.submitted, indicators.approved, indicators.rejected, indicators.released) == (6, 3, 1, 2)
    assert indicators.approval_rate == 0.75
    assert indicators.median_days_to_approval == 4  # 2, 4, 9 days
    assert indicators.median_days_to_release == 7  # 4 and 10 days
    assert indicators.to_dict()["approval_rate"] == 0.75


def test_kpi_on_an_empty_store(store):
    with store.reading() as session:
        indicators = kpi.compute(chain.records(session))
    assert indicators.approval_rate is None and indicators.median_days_to_release is None


def test_kpi_and_audit_commands_on_a_generated_history(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cohortql.cli import app

    path = tmp_path / "history.sqlite"
    with Store(store_url(str(path))) as opened:
        populate(opened, [
            Planned("Acme", datetime(2024, 1, 3, tzinfo=UTC), "approved", decided_after=2 * DAY,
                    released_after=5 * DAY),
            Planned("Beta", datetime(2024, 2, 1, tzinfo=UTC), "rejected", decided_after=3 * DAY),
        ])
    monkeypatch.setenv("COHORTQL_STORE", str(path))
    text = CliRunner().invoke(app, ["kpi"]).stdout
    assert re.search(r"2024-01\s+Acme\s+1\n\s*2024-02\s+Beta\s+1", text), text
    assert "approval rate: 50% (1 approved, 1 rejected)" in text
    assert "median time from submission to approval: 2 days" in text
    assert "median time from submission to release: 5 days" in text
    log = CliRunner().invoke(app, ["audit", "log", "--request", "1"]).stdout
    assert re.search(r"4\s+2024-01-03 00:00:00\s+rita\s+submitted\s+1\s+S-1 for Acme", log), log
    verified = CliRunner().invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0 and verified.stdout.startswith("ok: 9 records")
