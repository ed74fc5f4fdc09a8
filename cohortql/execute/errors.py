"""Database failures as one-line causes with a hint; never a traceback, never a credential.

Connection failures carry no SQLSTATE (libpq reports them as text), so causes are recognised
from the driver's message, first match wins. Patterns cover PostgreSQL (libpq) and DuckDB.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


class DatabaseError(Exception):
    def __init__(self, cause: str, hint: str | None = None):
        super().__init__(cause)
        self.cause = cause
        self.hint = hint

    def __str__(self) -> str:
        return self.cause + (f"\n  hint: {self.hint}" if self.hint else "")


@dataclass(frozen=True)
class ErrorContext:
    """What the caller knows beyond the driver's message, to make the cause precise."""

    schema: str | None = None  # the CDM schema, or the schema being loaded
    server: str | None = None  # host:port, shown when the server cannot be reached
    timeout_seconds: int | None = None
    secrets: tuple[str, ...] = ()  # passwords and tokens to scrub from any message, whatever happens


_Explain = Callable[[re.Match, ErrorContext], DatabaseError]

SCHEMA_HINT = "check --cdm-schema / --vocab-schema (schema names are case-sensitive)"
PERMISSIONS = "docs/postgres.md lists the permissions cohortql needs"


def _unreachable(match: re.Match, context: ErrorContext) -> DatabaseError:
    at = f" at {context.server}" if context.server else ""
    return DatabaseError(
        f"cannot reach the database server{at}", "check the host and port in the URL, and that the server is running"
    )


def _authentication(match: re.Match, context: ErrorContext) -> DatabaseError:
    user = match.group("user") if "user" in match.groupdict() else None
    return DatabaseError(
        f"authentication failed{f' for user `{user}`' if user else ''}",
        "check the user name and the password (in the URL, PGPASSWORD or ~/.pgpass)",
    )


def _database_missing(match: re.Match, context: ErrorContext) -> DatabaseError:
    return DatabaseError(
        f"database not found: {match.group('name')}", "check the database name in the URL (the part after the port)"
    )


def _schema_missing(match: re.Match, context: ErrorContext) -> DatabaseError:
    return DatabaseError(f"schema not found: {match.group('name')}", SCHEMA_HINT)


def _table_missing(match: re.Match, context: ErrorContext) -> DatabaseError:
    name = match.group("name")
    where = f" in schema `{context.schema}`" if context.schema else ""
    return DatabaseError(
        f"a CDM table is missing{where}: {name.rsplit('.', 1)[-1]}",
        f"{SCHEMA_HINT}, or load an OMOP CDM with `cohortql load`",
    )


_PRIVILEGE_HINTS = {
    "table": "ask the warehouse admin for SELECT on the CDM and vocabulary tables",
    "view": "ask the warehouse admin for SELECT on the CDM and vocabulary tables",
    "schema": "ask the warehouse admin for USAGE on the schema (and SELECT on its tables)",
    "database": "loading needs CREATE on the database (or an existing schema you own)",
    "temporary": "ask the warehouse admin for TEMPORARY on the database: concept sets go in temporary tables",
}


def _permission(match: re.Match, context: ErrorContext) -> DatabaseError:
    kind = match.group("kind")
    name = match.group("name")
    on = "temporary tables" if kind == "temporary" else f"{kind} {name}".strip()
    return DatabaseError(f"permission denied: {on}", f"{_PRIVILEGE_HINTS.get(kind, PERMISSIONS)}; {PERMISSIONS}")


def out_of_time(timeout_seconds: int | None) -> DatabaseError:
    limit = f" (limit {timeout_seconds} s)" if timeout_seconds else ""
    return DatabaseError(f"the query ran out of time{limit}", "raise --timeout, or narrow the definition")


def _timeout(match: re.Match, context: ErrorContext) -> DatabaseError:
    return out_of_time(context.timeout_seconds)


def _cancelled(match: re.Match, context: ErrorContext) -> DatabaseError:
    return DatabaseError("the query was cancelled", None)


def _read_only(match: re.Match, context: ErrorContext) -> DatabaseError:
    return DatabaseError(
        "the database accepts no writes (a read-only server or user)", "load into a primary server with a writable user"
    )


def _locked(match: re.Match, context: ErrorContext) -> DatabaseError:
    return DatabaseError("the DuckDB file is in use by another process", "close the other program, then retry")


_RULES: tuple[tuple[re.Pattern, _Explain], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), explain)
    for pattern, explain in (
        (r"connection refused|could not connect|could not translate host name|timeout expired"
         r"|network is unreachable|no route to host|no such file or directory.*socket", _unreachable),
        (r'password authentication failed for user "(?P<user>[^"]*)"', _authentication),
        (r'role "(?P<user>[^"]*)" does not exist', _authentication),
        (r"no password supplied|authentication failed|no pg_hba\.conf entry", _authentication),
        (r'database "(?P<name>[^"]*)" does not exist', _database_missing),
        (r'schema "(?P<name>[^"]*)" does not exist', _schema_missing),
        (r'relation "(?P<name>[^"]*)" does not exist', _table_missing),
        (r"table with name (?P<name>\S+) does not exist", _table_missing),
        (r"permission denied to create (?P<kind>temporary) tables(?P<name>)", _permission),
        (r'permission denied for (?P<kind>table|view|schema|database|sequence) "?(?P<name>[^"\s]*)', _permission),
        (r"statement timeout|interrupt", _timeout),
        (r"canceling statement due to user request", _cancelled),
        (r"read-only transaction", _read_only),
        (r"could not set lock on file|conflicting lock", _locked),
    )
)


def explain_driver_error(error: BaseException, context: ErrorContext | None = None) -> DatabaseError:
    """Map a driver exception to a cause a person can act on (the message text only, no URL)."""
    context = context or ErrorContext()
    text = str(getattr(error, "orig", None) or error)
    for secret in context.secrets:
        text = text.replace(secret, "***")
    for pattern, explain in _RULES:
        match = pattern.search(text)
        if match:
            return explain(match, context)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), error.__class__.__name__)
    return DatabaseError(f"the database refused the query: {first_line}", None)
