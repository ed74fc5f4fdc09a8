"""The governance workflow through its Python API, on SQLite and PostgreSQL: states, roles,
refusals, one transaction per change, and the store's migrations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from cohortql.governance import chain, identity, workflow
from cohortql.governance.binding import Binding
from cohortql.governance.errors import NotFound, PermissionDenied, Refused
from cohortql.governance.models import AuditRecord, Base, Request, RoleGrant
from cohortql.governance.store import Store, store_url
from cohortql.governance.verify import verify
from tests.governance_history import (
    ADMIN,
    BINDING,
    REQUESTER,
    STEWARD,
    result_for,
    setup_users,
    submit,
)

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def users(store):
    setup_users(store, T0)
    return store


def _reviewed(store, at=T0) -> int:
    request_id = submit(store, at=at)
    workflow.record_result(store, STEWARD, request_id, result_for(), now=at)
    return request_id


def _approved(store) -> int:
    request_id = _reviewed(store)
    workflow.approve(store, STEWARD, request_id, "ok", policy_now=BINDING.policy)
    return request_id


def _state(store, request_id) -> str:
    with store.reading() as session:
        return workflow.get(session, request_id).state


def _audit_count(store) -> int:
    with store.reading() as session:
        return len(chain.records(session))


# ---- the store -----------------------------------------------------------------------------------


def test_migrations_build_the_models_schema(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
    assert differences == []
    assert version == "0002"


def test_opening_again_keeps_the_data(tmp_path):
    path = str(tmp_path / "g.sqlite")
    with Store(store_url(path)) as first:
        setup_users(first, T0)
    with Store(store_url(path)) as second, second.reading() as session:
        assert identity.roles_of(session, STEWARD) == {"steward"}


def test_store_location(monkeypatch, tmp_path):
    monkeypatch.delenv("COHORTQL_STORE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("COHORTQL_PROFILE", str(tmp_path / "profile.toml"))
    (tmp_path / "profile.toml").write_text("")  # no [governance] table
    assert store_url().database == str(tmp_path / "data" / "cohortql" / "governance.sqlite")
    (tmp_path / "profile.toml").write_text('[governance]\nstore = "postgresql://gov@db.example/governance"\n')
    assert store_url().render_as_string() == "postgresql+psycopg2://gov@db.example/governance"
    monkeypatch.setenv("COHORTQL_STORE", str(tmp_path / "env.sqlite"))
    assert store_url().database == str(tmp_path / "env.sqlite")
    assert store_url("sqlite:///flag.sqlite").database == "flag.sqlite"


# ---- roles ---------------------------------------------------------------------------------------


def test_first_grant_on_an_empty_store_makes_the_caller_admin(store):
    assert identity.grant(store, ADMIN, STEWARD, "steward") is True
    assert identity.grant(store, ADMIN, STEWARD, "steward") is False
    with store.reading() as session:
        assert identity.roles_of(session, ADMIN) == {"admin"}
    with pytest.raises(PermissionDenied, match="stella does not have the admin role"):
        identity.grant(store, STEWARD, "eve", "steward")
    with pytest.raises(Refused, match="admins: ada"):
        identity.init(store, "eve")
    with pytest.raises(Refused, match="last admin"):
        identity.revoke(store, ADMIN, ADMIN, "admin")
    with pytest.raises(NotFound, match="unknown role"):
        identity.grant(store, ADMIN, "eve", "superuser")
    identity.revoke(store, ADMIN, STEWARD, "steward")
    with store.reading() as session:
        assert identity.roles_of(session, STEWARD) == set()


def test_users_init_on_an_empty_store(store):
    identity.init(store, ADMIN)
    with store.reading() as session:
        assert [(g.user_name, g.role) for g in identity.grants(session)] == [(ADMIN, "admin")]


def test_acting_user_comes_from_flag_then_environment_then_login(monkeypatch):
    monkeypatch.setenv("COHORTQL_USER", "from-env")
    assert identity.acting_user("from-flag") == "from-flag"
    assert identity.acting_user() == "from-env"
    monkeypatch.delenv("COHORTQL_USER")
    monkeypatch.setattr("getpass.getuser", lambda: "from-login")
    assert identity.acting_user() == "from-login"
    with pytest.raises(NotFound, match="not a valid user name"):
        identity.acting_user("bad name; drop table")


# ---- the life cycle and its refusals ---------------------------------------------------------------


def test_submit_needs_the_requester_role(users):
    with pytest.raises(PermissionDenied, match="stella does not have the requester role"):
        workflow.submit(users, STEWARD, workflow.Submission("S", "Acme", None, None, "/x", "x", BINDING))


def test_approve_then_release(users):
    request_id = _approved(users)
    request, approval, record = workflow.release(users, REQUESTER, request_id, BINDING, result_for(), fmt="json",
                                                 output=None)
    assert (request.state, approval.actor, record.action) == ("released", STEWARD, "released")
    # a release can be issued again; each one is on record
    workflow.release(users, STEWARD, request_id, BINDING, result_for(), fmt="csv", output="x.csv")
    with users.reading() as session:
        actions = [r.action for r in chain.records(session, request_id)]
    assert actions == ["submitted", "ran", "approved", "released", "released"]


def test_only_a_steward_decides_and_never_their_own_request(users):
    request_id = _reviewed(users)
    with pytest.raises(PermissionDenied, match="rita does not have the steward role"):
        workflow.approve(users, REQUESTER, request_id, None, policy_now=BINDING.policy)
    identity.grant(users, ADMIN, REQUESTER, "steward")
    with pytest.raises(PermissionDenied, match="their own request"):
        workflow.approve(users, REQUESTER, request_id, None, policy_now=BINDING.policy)
    with pytest.raises(PermissionDenied, match="their own request"):
        workflow.reject(users, REQUESTER, request_id, "no")
    assert _state(users, request_id) == "submitted"


def test_approval_needs_a_reviewed_result_and_the_same_policy(users):
    request_id = submit(users)
    with pytest.raises(Refused, match="no reviewed result"):
        workflow.approve(users, STEWARD, request_id, None, policy_now=BINDING.policy)
    workflow.record_result(users, STEWARD, request_id, result_for())
    with pytest.raises(Refused, match="policy changed since it was submitted"):
        workflow.approve(users, STEWARD, request_id, None, policy_now={"name": "stricter", "threshold": 20})


def test_a_result_for_another_question_is_not_recorded(users):
    request_id = submit(users)
    other = Binding("sha256:" + "cd" * 32, BINDING.engine, BINDING.policy)
    with pytest.raises(Refused, match="does not answer request"):
        workflow.record_result(users, STEWARD, request_id, result_for(other))


def test_a_decided_request_cannot_be_decided_again(users):
    request_id = _approved(users)
    with pytest.raises(Refused, match=f"cannot approve request {request_id}: it was already approved by stella"):
        workflow.approve(users, STEWARD, request_id, None, policy_now=BINDING.policy)
    with pytest.raises(Refused, match="already approved"):
        workflow.reject(users, STEWARD, request_id, "too late")


@pytest.mark.parametrize(
    ("close", "message"),
    [
        (None, "is still waiting for a steward's decision"),
        (lambda s, i: workflow.reject(s, STEWARD, i, "too broad"), "was rejected by stella .*: too broad"),
        (lambda s, i: workflow.withdraw(s, REQUESTER, i, "not needed"), "was withdrawn by rita"),
    ],
)
def test_release_refuses_a_request_that_is_not_approved(users, close, message):
    request_id = _reviewed(users)
    if close:
        close(users, request_id)
    with pytest.raises(Refused, match=f"cannot release request {request_id}: it {message}"):
        workflow.release(users, REQUESTER, request_id, BINDING, result_for(), fmt="json", output=None)


def test_release_refuses_a_revoked_approval(users):
    request_id = _approved(users)
    with pytest.raises(Refused, match="cannot revoke the approval of .* still waiting"):
        workflow.revoke(users, STEWARD, _reviewed(users), "never approved")
    workflow.revoke(users, STEWARD, request_id, "the protocol changed")
    with pytest.raises(Refused, match="had its approval revoked by stella .*: the protocol changed"):
        workflow.release(users, REQUESTER, request_id, BINDING, result_for(), fmt="json", output=None)


@pytest.mark.parametrize(
    ("current", "message"),
    [
        (Binding("sha256:" + "cd" * 32, BINDING.engine, BINDING.policy), "the definition changed"),
        (Binding(BINDING.fingerprint, {**BINDING.engine, "dialect": "postgres"}, BINDING.policy),
         "the engine changed"),
        (Binding(BINDING.fingerprint, BINDING.engine, {"name": "x", "threshold": 5}),
         "the disclosure policy changed"),
    ],
)
def test_release_refuses_what_the_approval_does_not_cover(users, current, message):
    request_id = _approved(users)
    with pytest.raises(Refused, match=f"no longer matches its approval: {message}"):
        workflow.release(users, REQUESTER, request_id, current, result_for(), fmt="json", output=None)
    assert _state(users, request_id) == "approved"


def test_release_refuses_numbers_that_differ_from_the_approved_ones(users):
    request_id = _approved(users)
    with pytest.raises(Refused, match="numbers differ from those the steward approved"):
        workflow.release(users, REQUESTER, request_id, BINDING, result_for(final=43), fmt="json", output=None)


def test_release_by_someone_else_needs_the_steward_role(users):
    request_id = _approved(users)
    with pytest.raises(PermissionDenied, match="eve does not have the steward role"):
        workflow.release(users, "eve", request_id, BINDING, result_for(), fmt="json", output=None)


def test_withdraw_is_for_the_requester_or_an_admin(users):
    request_id = submit(users)
    with pytest.raises(PermissionDenied, match="only its requester"):
        workflow.withdraw(users, STEWARD, request_id, None)
    workflow.withdraw(users, ADMIN, request_id, "duplicate")
    assert _state(users, request_id) == "withdrawn"


def test_unknown_request(users):
    with pytest.raises(NotFound, match="no request 999"):
        workflow.approve(users, STEWARD, 999, None, policy_now=BINDING.policy)


# ---- one transaction per change ----------------------------------------------------------------------


def _fail_on_append(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("crash between the state change and its audit record")

    monkeypatch.setattr(chain, "append", boom)


def test_a_crash_before_the_audit_record_leaves_no_request(users, monkeypatch):
    before = _audit_count(users)
    _fail_on_append(monkeypatch)
    with pytest.raises(RuntimeError):
        submit(users)
    with users.reading() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Request)).scalar_one() == 0
    assert _audit_count(users) == before


def test_a_crash_after_the_state_change_rolls_it_back(users, monkeypatch):
    request_id = _reviewed(users)
    before = _audit_count(users)
    with monkeypatch.context() as patch:
        _fail_on_append(patch)
        with pytest.raises(RuntimeError):
            workflow.approve(users, STEWARD, request_id, None, policy_now=BINDING.policy)
        with pytest.raises(RuntimeError):
            identity.grant(users, ADMIN, "eve", "steward")
    assert _state(users, request_id) == "submitted"
    with users.reading() as session:
        assert workflow.get(session, request_id).decided_by is None
        assert session.get(RoleGrant, ("eve", "steward")) is None
    assert _audit_count(users) == before
    assert verify_ok(users)


def test_a_crash_after_the_audit_record_is_written_rolls_both_back(users, monkeypatch):
    """The failure comes after the record is flushed: neither the record nor the state survive."""
    request_id = _reviewed(users)
    before = _audit_count(users)
    original = chain.append

    def append_then_crash(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("crash before commit")

    monkeypatch.setattr(chain, "append", append_then_crash)
    with pytest.raises(RuntimeError):
        workflow.approve(users, STEWARD, request_id, None, policy_now=BINDING.policy)
    monkeypatch.undo()
    assert _state(users, request_id) == "submitted"
    assert _audit_count(users) == before
    with users.reading() as session:
        head = session.get(chain.AuditHead, chain.HEAD_ID)
        assert head.seq == before
    assert verify_ok(users)


def verify_ok(store) -> bool:
    with store.reading() as session:
        return verify(session).ok


def test_records_and_requests_use_utc_timestamps(users):
    request_id = submit(users, at=datetime(2024, 5, 1, 11, 0, tzinfo=UTC) + timedelta(microseconds=5))
    with users.reading() as session:
        request = workflow.get(session, request_id)
        record = session.execute(sa.select(AuditRecord).where(AuditRecord.request_id == request_id)).scalar_one()
    assert request.submitted_at == record.at == "2024-05-01T11:00:00.000005Z"


def test_two_stewards_at_once(users):
    """Both decide the same request at the same moment: exactly one decision lands (see also the
    PostgreSQL tests, which hold the first transaction open)."""
    import threading

    identity.grant(users, ADMIN, "sam", "steward")
    request_id = _reviewed(users)
    barrier, outcomes = threading.Barrier(2), {}

    def decide(name, decision):
        barrier.wait(10)
        try:
            decision()
            outcomes[name] = "won"
        except Refused as error:
            outcomes[name] = error.message

    threads = [
        threading.Thread(target=decide, args=(STEWARD, lambda: workflow.approve(
            users, STEWARD, request_id, None, policy_now=BINDING.policy))),
        threading.Thread(target=decide, args=("sam", lambda: workflow.reject(users, "sam", request_id, "no"))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    loser = ({STEWARD, "sam"} - {winner}).pop()
    assert outcomes[loser].startswith(f"cannot {'approve' if loser == STEWARD else 'reject'} request {request_id}: "
                                      f"it was {'already approved' if winner == STEWARD else 'rejected'} by {winner}")
    assert verify_ok(users)
