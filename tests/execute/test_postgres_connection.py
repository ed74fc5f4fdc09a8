"""Connecting to PostgreSQL: where the URL comes from, and the password never shows."""

from __future__ import annotations

import json

import sqlalchemy as sa
from typer.testing import CliRunner

from cohortql.cli import app
from cohortql.execute.target import resolve_target
from tests.execute.test_postgres_errors import CASE, SECRET, _url


def _count_json(*args, env=None):
    result = CliRunner().invoke(app, ["count", CASE, "--format", "json", *args], env=env)
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    return json.loads(result.stdout)


def test_profile_then_environment_then_flag(postgres_database, postgres_tiny, tmp_path, monkeypatch):
    profile = tmp_path / "profile.toml"
    profile.write_text(f'[database]\nurl = "{_url(postgres_database)}"\ncdm_schema = "tiny"\ntimeout_seconds = 30\n')
    monkeypatch.setenv("COHORTQL_PROFILE", str(profile))
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    by_profile = _count_json()
    assert by_profile["database"]["dialect"] == "postgres"
    assert by_profile["database"]["cdm_schema"] == "tiny"
    assert resolve_target().timeout_seconds == 30
    # COHORTQL_DB wins over the profile's URL (the schema still comes from the profile) ...
    monkeypatch.setenv("COHORTQL_DB", postgres_database.replace("postgresql+psycopg2://", "postgres://"))
    assert _count_json()["final"] == by_profile["final"]
    # ... and --db over both: a wrong port proves the flag is the one used.
    result = CliRunner().invoke(app, ["count", CASE, "--db", _url(postgres_database, port=1)])
    assert result.exit_code == 1 and "127.0.0.1:1" in result.stderr


def test_password_never_shown_or_kept(postgres_database, postgres_tiny, monkeypatch, tmp_path):
    monkeypatch.delenv("COHORTQL_DB", raising=False)
    monkeypatch.delenv("COHORTQL_PROFILE", raising=False)  # no profile: the defaults
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    url = _url(postgres_database)
    result = CliRunner().invoke(app, ["count", CASE, "--db", url, "--cdm-schema", "tiny", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    target = resolve_target(url, "tiny")
    assert SECRET not in repr(target) and SECRET not in str(target.to_dict())
    assert SECRET not in target.description


def test_without_a_password_libpq_looks_for_one():
    # No password in the URL: none is passed to libpq, which then reads PGPASSWORD / ~/.pgpass.
    target = resolve_target("postgresql://alice@db.example:5432/cdm")
    url = sa.engine.make_url(target.url)
    _, kwargs = sa.create_engine(url).dialect.create_connect_args(url)
    assert "password" not in kwargs
    assert url.drivername == "postgresql+psycopg2"


