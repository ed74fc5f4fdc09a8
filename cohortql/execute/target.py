"""Which database answers: from --db, COHORTQL_DB, a profile file, or the embedded Eunomia default.

A target keeps its URL as text. Only a server URL is parsed by SQLAlchemy (for psycopg2): a count
on a DuckDB file or on Spark never imports it, which is a third of a small count's time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from cohortql.credentials import redact_text, secrets_of, strip_url
from cohortql.execute.errors import DatabaseError, ErrorContext
from cohortql.execute.spark_url import parse_spark_url
from cohortql.profile import ProfileError, read_profile

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

DEFAULT_TIMEOUT_SECONDS = 600
MAX_TIMEOUT_SECONDS = 7 * 24 * 3600
CONNECT_TIMEOUT_SECONDS = 10
_DUCKDB_URL = re.compile(r"duckdb:///(?P<path>[^?]+)", re.IGNORECASE)
DUCKDB_URL_HINT = "use duckdb:///path/to/cdm.duckdb (four slashes before an absolute path)"


@dataclass(frozen=True)
class Target:
    url: str = field(repr=False)  # credentials included: never shown, stored or stamped
    cdm_schema: str | None
    vocab_schema: str | None
    description: str  # shown to users; never contains credentials
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    server: str | None = None  # host:port of a server, shown when it cannot be reached
    secrets: tuple[str, ...] = field(default=(), repr=False)  # scrubbed from every driver message

    @property
    def dialect(self) -> str:
        name = self.url.split("://", 1)[0].split("+", 1)[0].lower()
        return {"postgresql": "postgres"}.get(name, name)

    @property
    def database_file(self) -> str | None:
        """The DuckDB file a `duckdb:///PATH` URL names; None for a server or Spark."""
        match = _DUCKDB_URL.fullmatch(self.url)
        return unquote(match["path"]) if match else None

    def error_context(self, schema: str | None = None) -> ErrorContext:
        return ErrorContext(
            schema=schema or self.cdm_schema,
            server=self.server,
            timeout_seconds=self.timeout_seconds,
            secrets=self.secrets,
        )

    def to_dict(self) -> dict:
        return {
            "dialect": self.dialect,
            "description": redact_text(self.description),  # whatever built it, never a credential
            "cdm_schema": self.cdm_schema,
            "vocab_schema": self.vocab_schema or self.cdm_schema,
        }


def safe_url_text(url: URL) -> str:
    """The URL as users may see it: no password or other credential, whatever its source, and no driver name."""
    return strip_url(url).set(drivername=url.get_backend_name()).render_as_string(hide_password=False)


def server_text(url: URL) -> str | None:
    """`host:port` of a server URL (libpq's defaults filled in), None for a file database."""
    if url.get_backend_name() != "postgresql":
        return None
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def libpq_connect_args(url: URL, application_name: str) -> dict:
    """Connection options the URL's query string does not set itself: a name for pg_stat_activity
    (so a DBA sees whose query it is) and a bound on the wait for an unreachable host."""
    defaults = {"application_name": application_name, "connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return {key: value for key, value in defaults.items() if key not in url.query}


def database_url(text: str) -> URL:
    """Parse and check a database URL; `postgresql://` and `postgres://` mean psycopg2.

    Without a password in the URL, libpq itself looks at PGPASSWORD and ~/.pgpass.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except ArgumentError:
        raise DatabaseError(
            "the database URL is not valid",
            "use e.g. postgresql://user@host:5432/dbname or duckdb:///path/to/cdm.duckdb",
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg2")  # the driver cohortql ships with
    if url.get_backend_name() not in ("duckdb", "postgresql"):
        raise DatabaseError(
            f"unsupported database kind `{url.get_backend_name()}`",
            "cohortql runs on duckdb://, postgresql:// and spark:// URLs",
        )
    return url


def _spark_target(url_text: str, cdm_schema: str | None, vocab_schema: str | None, timeout_seconds: int) -> Target:
    """A Target for a spark:// URL; a Parquet directory has no schemas, its tables are views."""
    location = parse_spark_url(url_text)
    if location.parquet_dir and (cdm_schema or vocab_schema):
        raise DatabaseError(
            "a Parquet CDM directory has no schemas",
            "drop --cdm-schema / --vocab-schema, or register the tables in a catalog database",
        )
    return Target(url_text.strip(), cdm_schema, vocab_schema, location.describe(), timeout_seconds)


def _duckdb_target(url_text: str, cdm_schema: str | None, vocab_schema: str | None, timeout_seconds: int) -> Target:
    """A Target for a DuckDB file, read without SQLAlchemy: `duckdb:///PATH`, no options."""
    match = _DUCKDB_URL.fullmatch(url_text)
    if not match:
        raise DatabaseError("a duckdb:// URL names one DuckDB file, without options", DUCKDB_URL_HINT)
    path = unquote(match["path"])
    if not Path(path).exists():
        raise DatabaseError(f"no DuckDB file at {path}", "check the path in the duckdb:/// URL")
    return Target(f"duckdb:///{match['path']}", cdm_schema, vocab_schema, f"duckdb:///{path}", timeout_seconds)


def _timeout(value, where: str) -> int:
    """Seconds, 1 to a week: PostgreSQL's statement_timeout is an int of milliseconds, and no count
    is worth more (the CLI's --timeout has the same bounds)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TIMEOUT_SECONDS:
        raise ProfileError(where.format(repr(value)),
                           f"give whole seconds from 1 to {MAX_TIMEOUT_SECONDS} (a week)")
    return value


def resolve_target(
    db: str | None = None,
    cdm_schema: str | None = None,
    vocab_schema: str | None = None,
    timeout_seconds: int | None = None,
) -> Target:
    """Flags win over COHORTQL_DB, which wins over the profile; none of them means Eunomia."""
    profile = read_profile().table("database") or {}
    url_text = db or os.environ.get("COHORTQL_DB") or profile.get("url")
    cdm_schema = cdm_schema or profile.get("cdm_schema")
    vocab_schema = vocab_schema or profile.get("vocab_schema")
    if timeout_seconds is not None:
        timeout = _timeout(timeout_seconds, "a time limit of {} seconds is out of range")
    elif "timeout_seconds" in profile:
        where = "timeout_seconds = {} in the [database] table of the profile is not a time limit"
        timeout = _timeout(profile["timeout_seconds"], where)
    else:
        timeout = DEFAULT_TIMEOUT_SECONDS
    if not url_text:
        from cohortql.execute.eunomia import eunomia_cdm_path

        path = eunomia_cdm_path()
        return Target(
            f"duckdb:///{path}",
            cdm_schema,
            vocab_schema,
            "Eunomia demo CDM (2,694 synthetic persons; embedded DuckDB)",
            timeout,
        )
    url_text = url_text.strip()
    scheme = url_text.split("://", 1)[0].lower()
    if scheme == "spark":  # a Spark session
        return _spark_target(url_text, cdm_schema, vocab_schema, timeout)
    if scheme == "duckdb":  # the duckdb module itself
        return _duckdb_target(url_text, cdm_schema, vocab_schema, timeout)
    url = database_url(url_text)
    return Target(url.render_as_string(hide_password=False), cdm_schema, vocab_schema, safe_url_text(url), timeout,
                  server_text(url), secrets_of(url))
