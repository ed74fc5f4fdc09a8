"""Every PostgreSQL failure prints one line of cause and one hint, and never the password.

Each case runs `cohortql count` against the real server with a password in the URL (the test
server trusts local connections, so the password is accepted and ignored where the role exists).
"""

from __future__ import annotations

import socket
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from cohortql.cli import app
from cohortql.fixtures import ddl_statements, tiny

CASE = str(tiny.case_paths()[0])
SECRET = f"Pw-{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
def _no_configured_database(monkeypatch, tmp_path):
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    monkeypatch.delenv("COHORTQL_PROFILE", raising=False)  # no profile: the defaults
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))


def _url(postgres_database, **changes) -> str:
    return make_url(postgres_database).set(password=SECRET, **changes).render_as_string(hide_password=False)


def _admin(postgres_database, *statements):
    engine = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    engine.dispose()


def _count_fails(args, cause, hint):
    result = CliRunner().invoke(app, ["count", CASE, *args])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0] == f"error: {cause}"
    assert lines[1].startswith("  hint: ") and hint in lines[1]
    assert SECRET not in result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def no_op_schema(postgres_database, postgres_tiny):
    """A CDM schema beside `tiny` without observation_period."""
    statements = ["CREATE SCHEMA no_op", "SET search_path TO no_op"]
    statements += [s for s in ddl_statements() if not s.startswith("CREATE TABLE observation_period")]
    _admin(postgres_database, *statements)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_unreachable(postgres_database):
    port = _free_port()
    _count_fails(
        ["--db", _url(postgres_database, port=port)],
        f"cannot reach the database server at 127.0.0.1:{port}",
        "check the host and port",
    )


def test_authentication_failed(postgres_database):
    # pg_hba-independent: libpq fails authentication for a role that does not exist.
    _count_fails(
        ["--db", _url(postgres_database, username="cq_nobody")],
        "authentication failed for user `cq_nobody`",
        "PGPASSWORD or ~/.pgpass",
    )


def test_database_missing(postgres_database):
    _count_fails(
        ["--db", _url(postgres_database, database="cq_no_such_db")],
        "database not found: cq_no_such_db",
        "database name in the URL",
    )


def test_schema_missing(postgres_database, postgres_tiny):
    _count_fails(
        ["--db", _url(postgres_database), "--cdm-schema", "nosuch"], "schema not found: nosuch", "--cdm-schema"
    )
    _count_fails(
        ["--db", _url(postgres_database), "--cdm-schema", "tiny", "--vocab-schema", "novocab"],
        "schema not found: novocab",
        "--vocab-schema",
    )


def test_cdm_table_missing(postgres_database, no_op_schema):
    _count_fails(
        ["--db", _url(postgres_database), "--cdm-schema", "no_op"],
        "a CDM table is missing in schema `no_op`: observation_period",
        "cohortql load",
    )


def test_statement_timeout(postgres_database, postgres_slow):
    started = time.monotonic()
    _count_fails(
        ["--db", _url(postgres_database), "--cdm-schema", postgres_slow, "--timeout", "1"],
        "the query ran out of time (limit 1 s)",
        "raise --timeout",
    )
    assert time.monotonic() - started < 20


@pytest.fixture
def role(postgres_database, postgres_tiny):
    """A login role with no privileges on the CDM, dropped afterwards (roles outlive databases)."""
    name = f"cq_reader_{uuid.uuid4().hex[:8]}"
    _admin(postgres_database, f"CREATE ROLE {name} LOGIN")
    yield name
    _admin(postgres_database, f"DROP OWNED BY {name}", f"DROP ROLE {name}")


def test_permission_denied_on_schema(postgres_database, role):
    _count_fails(
        ["--db", _url(postgres_database, username=role), "--cdm-schema", "tiny"],
        "permission denied: schema tiny",
        "USAGE on the schema",
    )


def test_permission_denied_on_tables(postgres_database, role):
    _admin(postgres_database, f"GRANT USAGE ON SCHEMA tiny TO {role}")
    _count_fails(
        ["--db", _url(postgres_database, username=role), "--cdm-schema", "tiny"],
        "permission denied: table concept_ancestor",
        "SELECT on the CDM",
    )


def test_permission_denied_for_temporary_tables(postgres_database, role):
    database = make_url(postgres_database).database
    _admin(
        postgres_database,
        f"GRANT USAGE ON SCHEMA tiny TO {role}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA tiny TO {role}",
        f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC',
    )
    try:
        _count_fails(
            ["--db", _url(postgres_database, username=role), "--cdm-schema", "tiny"],
            "permission denied: temporary tables",
            "TEMPORARY on the database",
        )
        # With both privileges documented in docs/postgres.md the same role counts.
        _admin(postgres_database, f'GRANT TEMPORARY ON DATABASE "{database}" TO {role}')
        result = CliRunner().invoke(
            app, ["count", CASE, "--db", _url(postgres_database, username=role), "--cdm-schema", "tiny"]
        )
        assert result.exit_code == 0, result.output
    finally:
        _admin(postgres_database, f'GRANT TEMPORARY ON DATABASE "{database}" TO PUBLIC')
