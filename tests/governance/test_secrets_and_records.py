"""Secrets kept out of the store, the chain and releases; `admin redact` for stores that hold them;
`audit verify` read-only; a release recorded only once its document is written; the policy floor."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

import tests.governance.test_governance_cli as governance_cli
from cohortql.credentials import redact_text, strip_url
from cohortql.execute.target import database_url
from cohortql.governance import floor, workflow
from cohortql.governance.binding import Binding
from cohortql.governance.redaction import redact_store
from cohortql.governance.store import Store, store_url
from cohortql.governance.verify import verify
from cohortql.protect import DisclosurePolicy
from tests.governance.test_governance_cli import Q4, approved, cli, ok, refused
from tests.governance_history import BINDING, REQUESTER, STEWARD, result_for, setup_users, submit

SECRET = "hunter2-Secret"
store, people = governance_cli.store, governance_cli.people  # the same fixtures as the CLI tests


def _all_text(url: str) -> str:
    """Every value of every table of a store, as one text: where a secret would hide."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        texts = [
            repr(tuple(row))
            for table in sa.inspect(connection).get_table_names()
            for row in connection.execute(sa.text(f'SELECT * FROM "{table}"'))
        ]
    engine.dispose()
    return "\n".join(texts)


@pytest.mark.parametrize("text, expected", [
    (f"postgresql://bob:{SECRET}@db:5432/cdm?sslmode=require", "postgresql://bob@db:5432/cdm?sslmode=require"),
    (f"postgresql://bob@db/cdm?password={SECRET}&sslmode=require", "postgresql://bob@db/cdm?sslmode=require"),
    (f"postgresql://db/cdm?sslpassword={SECRET}&passfile=/home/b/.pgpass", "postgresql://db/cdm"),
    (f"on spark://host:7077?token={SECRET}, schema cdm", "on spark://host:7077, schema cdm"),
    ("Eunomia demo CDM (2,694 synthetic persons; embedded DuckDB)",
     "Eunomia demo CDM (2,694 synthetic persons; embedded DuckDB)"),
])
def test_redact_text_strips_every_credential(text, expected):
    assert redact_text(text) == expected


def test_a_parsed_url_loses_password_and_credential_parameters():
    url = strip_url(database_url(f"postgresql://bob:{SECRET}@db/cdm?password={SECRET}&application_name=x"))
    assert url.password is None and dict(url.query) == {"application_name": "x"}


def test_a_password_in_the_db_url_is_never_printed_stored_chained_or_stamped(
        people, tmp_path, postgres_eunomia, monkeypatch):
    url = sa.engine.make_url(postgres_eunomia.url).set(password=SECRET)
    url = url.update_query_dict({"password": SECRET, "sslmode": "disable"})
    db = url.render_as_string(hide_password=False)
    assert SECRET in db
    outputs = []
    submitted = ok("submit", Q4, "--study", "S", "--sponsor", "Acme", "--db", db, "--cdm-schema", "eunomia",
                   user="rita")
    request_id = int(submitted.stdout.split()[1])
    outputs += [submitted.output, ok("review", "show", request_id, "--db", db, user="stella").output]
    ok("review", "approve", request_id, user="stella")
    document = tmp_path / "release.json"
    outputs.append(ok("release", request_id, "--db", db, "--cdm-schema", "eunomia", "-o", document,
                      user="rita").output)
    outputs += [document.read_text(), ok("audit", "log", "--format", "json").output,
                ok("count", Q4, "--db", db, "--cdm-schema", "eunomia").output]
    for text in outputs:
        assert SECRET not in text
    stamped = json.loads(document.read_text())["release"]["engine"]["description"]
    assert stamped.startswith("postgresql://postgres@127.0.0.1:5432/") and "sslmode=disable" in stamped
    assert SECRET not in _all_text(str(store_url()))


def _older_store_with_a_secret(opened: Store) -> int:
    """A store as an older cohortql wrote it: the engine description carries `?password=`."""
    engine = {**BINDING.engine, "description": f"postgresql://bob@db/cdm?password={SECRET}"}
    leaky = Binding(BINDING.fingerprint, engine, BINDING.policy)
    setup_users(opened, None)
    request_id = submit(opened, binding=leaky)
    workflow.record_result(opened, STEWARD, request_id, result_for(leaky))
    workflow.approve(opened, STEWARD, request_id, "fine", policy_now=BINDING.policy)
    workflow.release(opened, REQUESTER, request_id, leaky, result_for(leaky), fmt="json", output=None)
    return request_id


def test_admin_redact_strips_stored_secrets_and_the_chain_still_verifies(store):
    from cohortql.governance.store import open_store

    with open_store() as opened:
        request_id = _older_store_with_a_secret(opened)
        anchor = None
        with opened.reading() as session:
            assert verify(session).ok
            anchor = verify(session).chain.head
        assert SECRET in _all_text(str(opened.url))
        assert "rita does not have the admin role" in refused("admin", "redact", user="rita")
        done = ok("admin", "redact", user="ada").stdout
        assert "redacted 3 audit records and 1 requests" in done  # the engine of submitted, approved, released
        assert SECRET not in _all_text(str(opened.url))
        assert ok("audit", "verify", "--anchor", anchor).stdout.startswith("ok: ")
        records = json.loads(ok("audit", "log", "--format", "json").stdout)
        assert records[-1]["action"] == "redacted" and records[-1]["actor"] == "ada"
        assert ok("admin", "redact", user="ada").stdout.startswith("nothing to redact")
        with opened.reading() as session:
            row = workflow.get(session, request_id)
            assert row.engine["description"] == "postgresql://bob@db/cdm"
        # A redacted record is still protected: editing it after the redaction breaks the chain.
        with opened.transaction() as session:
            session.execute(sa.text("UPDATE audit_record SET detail = replace(detail, 'bob@db', 'eve@db') "
                                    "WHERE action = 'submitted'"))
        assert "was altered" in refused("audit", "verify")


def test_redacted_count_matches(store):
    """The redaction names exactly the records whose detail held the secret."""
    from cohortql.governance.store import open_store

    with open_store() as opened:
        _older_store_with_a_secret(opened)
        with opened.reading() as session:
            leaky = session.execute(sa.text("SELECT seq FROM audit_record WHERE detail LIKE :s"),
                                    {"s": f"%{SECRET}%"}).scalars().all()
        done = redact_store(opened, "ada")
        assert sorted(done.records) == sorted(leaky) and len(leaky) >= 2


def test_audit_verify_never_creates_a_store(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "governance.sqlite"
    monkeypatch.setenv("COHORTQL_STORE", str(missing))
    stderr = refused("audit", "verify")
    assert f"there is no governance store at sqlite:///{missing}" in stderr
    assert not missing.exists() and not missing.parent.exists()
    not_a_store = tmp_path / "other.sqlite"
    sqlite3.connect(not_a_store).execute("CREATE TABLE t (x)").connection.close()
    monkeypatch.setenv("COHORTQL_STORE", str(not_a_store))
    assert "is not a governance store: it has no audit_head" in refused("audit", "verify")


def test_audit_verify_fails_on_an_empty_chain_or_a_missing_head(store):
    ok("users", "list")  # opens, so creates, the store: its chain is empty
    assert "the audit chain is empty" in refused("audit", "verify")
    ok("users", "init", user="ada")
    path = store_url()
    before = Path(path.database).read_bytes() if store == "sqlite" else None
    assert ok("audit", "verify").stdout.startswith("ok: 1 records")
    if before is not None:
        assert Path(path.database).read_bytes() == before  # read-only: not a byte changed
    engine = sa.create_engine(path, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM audit_head"))
    engine.dispose()
    assert "the audit chain has no head" in refused("audit", "verify")


@pytest.mark.parametrize("store", ["sqlite", "postgres"], indirect=True)
def test_a_failed_write_leaves_release_failed_not_released(people, tmp_path, store):
    definition = tmp_path / "trial.cohort"
    definition.write_text(Q4.read_text())
    request_id = approved(definition)
    unwritable = tmp_path / "no-such-directory" / "release.json"
    stderr = refused("release", request_id, "-o", unwritable, user="rita")
    assert f"request {request_id} was not released" in stderr and "release_failed" in stderr
    actions = [r["action"] for r in json.loads(ok("audit", "log", "--request", request_id, "--format",
                                                     "json").stdout)]
    assert actions == ["submitted", "ran", "approved", "release_failed"]
    assert re.search(rf"{request_id}\s+approved", ok("review", "list", "--state", "approved").stdout)
    assert ok("audit", "verify").stdout.startswith("ok: ")
    written = tmp_path / "release.json"
    ok("release", request_id, "-o", written, user="rita")
    assert json.loads(written.read_text())["release"]["request"] == request_id
    actions = [r["action"] for r in json.loads(ok("audit", "log", "--request", request_id, "--format",
                                                     "json").stdout)]
    assert actions[-1] == "released" and not (tmp_path / ".release.json.partial").exists()


def test_the_floor_is_set_by_an_admin_on_the_chain_and_refuses_looser_requests(people, tmp_path):
    profile = tmp_path / "no-profile.toml"
    profile.write_text("[disclosure]\nthreshold = 5\n")  # COHORTQL_PROFILE of the requester
    stderr = refused("submit", Q4, "--study", "S", "--sponsor", "Acme", user="rita")
    assert "is looser than the deployment's floor (threshold 10" in stderr and "the built-in default" in stderr
    assert "stella does not have the admin role" in refused("admin", "policy", "set", "--threshold", "5",
                                                            user="stella")
    ok("admin", "policy", "set", "--threshold", "12", user="ada")
    shown = json.loads(ok("admin", "policy", "show").stdout)
    assert shown["policy"]["threshold"] == 12 and shown["source"].startswith("set by ada at ")
    profile.write_text("[disclosure]\nthreshold = 11\n")
    stderr = refused("submit", Q4, "--study", "S", "--sponsor", "Acme", user="rita")
    assert "threshold 11 < 12" in stderr and "set by ada" in stderr
    profile.write_text("[disclosure]\nthreshold = 12\n")
    definition = tmp_path / "trial.cohort"
    definition.write_text(Q4.read_text())
    request_id = approved(definition)
    assert json.loads(ok("audit", "log", "--format", "json").stdout)[3]["action"] == "policy_floor_set"
    ok("admin", "policy", "set", "--threshold", "15", user="ada")  # raised after the approval
    stderr = refused("release", request_id, user="rita")
    assert "looser than the deployment's floor (threshold 15" in stderr
    assert ok("audit", "verify").stdout.startswith("ok: ")
    engine = sa.create_engine(store_url(), poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE policy_floor SET allow_looser_profiles = :t"), {"t": True})
    engine.dispose()
    assert "the policy floor in the table does not match the audit record" in refused("audit", "verify")


def test_floor_of_a_store_not_yet_created_is_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("COHORTQL_STORE", str(tmp_path / "none.sqlite"))
    assert floor.deployment_floor() == floor.DEFAULT and floor.DEFAULT.policy == DisclosurePolicy()
    assert not (tmp_path / "none.sqlite").exists()
    assert cli("audit", "verify").exit_code == 1
