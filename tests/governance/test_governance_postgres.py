"""A shared PostgreSQL store: concurrent stewards, a connection dropped mid-change, and the database
roles of docs/governance.md (append-only audit table, identity bound to the login)."""

from __future__ import annotations

import re
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from cohortql.cli import app
from cohortql.governance import chain, identity, workflow
from cohortql.governance.binding import Binding
from cohortql.governance.errors import Refused
from cohortql.governance.store import open_store
from cohortql.governance.verify import verify
from cohortql.protect import DisclosurePolicy
from tests.conftest import REPO
from tests.governance_history import BINDING, STEWARD, postgres_schema, result_for, setup_users, submit

GOVERNANCE_DOC = (REPO / "docs" / "governance.md").read_text(encoding="utf-8")


@pytest.fixture
def store(postgres_database):
    with postgres_schema(postgres_database) as url, open_store(url) as opened:
        setup_users(opened, None)
        identity.grant(opened, "ada", "sam", "steward")
        yield opened


def _reviewed(store) -> int:
    request_id = submit(store)
    workflow.record_result(store, STEWARD, request_id, result_for())
    return request_id


def _decide(outcomes: dict, name: str, decision) -> None:
    started = time.monotonic()
    try:
        decision()
        outcomes[name] = ("won", time.monotonic() - started)
    except Refused as error:
        outcomes[name] = (error.message, time.monotonic() - started)


def _blocked_by(monitor: sa.Connection, pid: int) -> bool:
    """Whether some backend is waiting for a lock that backend `pid` holds."""
    query = "SELECT count(*) FROM pg_stat_activity WHERE %(pid)s = ANY(pg_blocking_pids(pid))"
    return monitor.exec_driver_sql(query, {"pid": pid}).scalar_one() > 0


def test_two_stewards_at_once_exactly_one_decision_wins(store, postgres_database, monkeypatch):
    """Sam decides while Stella's approval is still inside its transaction: Sam waits, then is told.

    Stella's transaction stays open, holding the chain's lock, until the server shows Sam's waiting
    for it: no sleep decides whether the two really overlap.
    """
    request_id = _reviewed(store)
    inside, sam_waited_for_stella, original = threading.Event(), threading.Event(), chain.append
    monitor_engine = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)

    def append_once_sam_waits(session, **record):
        if record["action"] == "approved":
            stella = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            inside.set()
            with monitor_engine.connect() as monitor:
                deadline = time.monotonic() + 20
                while not _blocked_by(monitor, stella) and time.monotonic() < deadline:
                    time.sleep(0.02)  # polls the server; the order of events does not depend on it
                if _blocked_by(monitor, stella):
                    sam_waited_for_stella.set()
        return original(session, **record)

    monkeypatch.setattr(chain, "append", append_once_sam_waits)
    outcomes: dict = {}
    stella = threading.Thread(target=_decide, args=(outcomes, "stella", lambda: workflow.approve(
        store, STEWARD, request_id, "ok", policy_now=BINDING.policy)))
    sam = threading.Thread(target=_decide, args=(outcomes, "sam", lambda: workflow.reject(
        store, "sam", request_id, "too broad")))
    stella.start()
    assert inside.wait(10)
    sam.start()
    stella.join(30)
    sam.join(30)
    monitor_engine.dispose()
    assert outcomes["stella"][0] == "won"
    message, _ = outcomes["sam"]
    assert re.match(rf"cannot reject request {request_id}: it was already approved by stella at \S+$", message)
    # Sam's decision really was concurrent: the server showed it waiting for Stella's to commit
    assert sam_waited_for_stella.is_set()
    with store.reading() as session:
        assert workflow.get(session, request_id).state == "approved"
        assert [r.action for r in chain.records(session, request_id)] == ["submitted", "ran", "approved"]
        assert verify(session).ok


def test_many_concurrent_decisions_and_submissions_keep_one_chain(store):
    requests = [_reviewed(store) for _ in range(3)]
    barrier = threading.Barrier(8)
    outcomes: dict = {}

    def act(name, decision):
        barrier.wait(10)
        _decide(outcomes, name, decision)

    actions = {}
    for n, request_id in enumerate(requests):
        actions[f"stella-{n}"] = lambda r=request_id: workflow.approve(store, STEWARD, r, None,
                                                                        policy_now=BINDING.policy)
        actions[f"sam-{n}"] = lambda r=request_id: workflow.reject(store, "sam", r, "no")
    actions |= {f"submit-{n}": lambda: submit(store) for n in range(2)}
    threads = [threading.Thread(target=act, args=item) for item in actions.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for n in range(3):
        assert [outcomes[f"stella-{n}"][0], outcomes[f"sam-{n}"][0]].count("won") == 1
    with store.reading() as session:
        check = verify(session)
        assert check.ok, check.first_problem
        assert check.chain.records == 4 + 3 * 3 + 2  # grants, 3 x (submitted, ran, decision), 2 submissions


def test_a_dropped_connection_leaves_no_half_written_change(store, postgres_database, monkeypatch):
    request_id = _reviewed(store)
    with store.reading() as session:
        before = len(chain.records(session))
    admin = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    original = chain.append

    def drop_connection_then_append(session, **record):
        pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return original(session, **record)

    monkeypatch.setattr(chain, "append", drop_connection_then_append)
    with pytest.raises(sa.exc.DBAPIError):
        workflow.approve(store, STEWARD, request_id, None, policy_now=BINDING.policy)
    with pytest.raises(sa.exc.DBAPIError):
        submit(store)
    monkeypatch.undo()
    admin.dispose()
    with store.reading() as session:
        assert workflow.get(session, request_id).state == "submitted"
        assert workflow.get(session, request_id).decided_by is None
        assert session.execute(sa.text("SELECT count(*) FROM request")).scalar_one() == 1
        assert len(chain.records(session)) == before
        assert verify(session).ok


# ---- the database roles of docs/governance.md ----------------------------------------------------


def _documented_sql() -> tuple[str, str]:
    setup, grants = re.findall(r"^```sql\n(.*?)^```", GOVERNANCE_DOC, re.S | re.M)
    return setup, grants


@pytest.fixture
def deployment(postgres_database):
    """The documented setup, with names made unique (roles are shared by the whole server)."""
    suffix = uuid.uuid4().hex[:8]
    names = {name: f"{name}_{suffix}" for name in ("cohortql_owner", "cohortql_app", "governance", "alice", "bob")}

    def named(sql: str) -> str:
        return re.sub(r"\b(" + "|".join(names) + r")\b", lambda m: names[m.group(1)], sql)

    def url(login: str) -> str:
        return make_url(postgres_database).set(username=names[login]).update_query_dict(
            {"options": f"-csearch_path={names['governance']}"}).render_as_string(hide_password=False)

    def run_as_superuser(script: str) -> None:
        with superuser.connect() as connection:
            connection.connection.cursor().execute(script)  # no parameters: `%` in the script is literal

    setup, grants = _documented_sql()
    superuser = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    run_as_superuser(named(setup))
    open_store(url("cohortql_owner")).close()  # the owner's first open creates the tables
    run_as_superuser(named(grants))
    try:
        yield names, url
    finally:
        with superuser.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA {names["governance"]} CASCADE')
            for role in ("alice", "bob", "cohortql_app", "cohortql_owner"):
                connection.exec_driver_sql(f"DROP OWNED BY {names[role]}")
                connection.exec_driver_sql(f"DROP ROLE {names[role]}")
        superuser.dispose()


def test_the_workflow_runs_with_the_documented_privileges(deployment):
    names, url = deployment
    alice, bob = names["alice"], names["bob"]
    with open_store(url("alice")) as as_alice, open_store(url("bob")) as as_bob:
        identity.init(as_alice, alice)
        identity.grant(as_alice, alice, alice, "requester")
        identity.grant(as_alice, alice, bob, "steward")
        request_id = workflow.submit(as_alice, alice, workflow.Submission(
            "S", "Acme", None, None, "/defs/t.cohort", "# t\n", BINDING)).id
        workflow.record_result(as_bob, bob, request_id, result_for())
        workflow.approve(as_bob, bob, request_id, "ok", policy_now=BINDING.policy)
        workflow.release(as_alice, alice, request_id, BINDING, result_for(), fmt="json", output=None)
        with as_bob.reading() as session:
            assert verify(session).ok


@pytest.mark.parametrize("statement", [
    "UPDATE audit_record SET actor = 'mallory'",
    "DELETE FROM audit_record",
    "TRUNCATE audit_record",
])
def test_users_cannot_alter_or_delete_audit_records(deployment, statement):
    names, url = deployment
    with open_store(url("alice")) as as_alice:
        identity.init(as_alice, names["alice"])
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), as_alice.engine.begin() as c:
            c.exec_driver_sql(statement)
        with as_alice.reading() as session:
            assert verify(session).ok


def test_users_cannot_act_under_another_name(deployment):
    """Alice, a requester, claims to be Bob the steward to approve her own request: the server refuses."""
    names, url = deployment
    alice, bob = names["alice"], names["bob"]
    policy_now = DisclosurePolicy().to_dict()
    bound = Binding(BINDING.fingerprint, BINDING.engine, policy_now)
    with open_store(url("alice")) as as_alice:
        identity.init(as_alice, alice)
        identity.grant(as_alice, alice, alice, "requester")
        identity.grant(as_alice, alice, bob, "steward")
        request_id = workflow.submit(as_alice, alice, workflow.Submission(
            "S", "Acme", None, None, "/defs/t.cohort", "# t\n", bound)).id
        workflow.record_result(as_alice, alice, request_id, result_for(bound))
        with pytest.raises(sa.exc.DBAPIError, match="is not the database login"):
            workflow.approve(as_alice, bob, request_id, None, policy_now=policy_now)
        result = CliRunner().invoke(app, ["review", "approve", str(request_id), "--user", bob, "--store", url("alice")])
        assert result.exit_code == 1
        assert "the governance store failed, nothing was changed" in result.stderr
        assert f"audit actor {bob} is not the database login {alice}" in result.stderr
        with as_alice.reading() as session:
            assert workflow.get(session, request_id).state == "submitted"
            assert verify(session).ok
