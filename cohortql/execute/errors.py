"""Database failures as one-line causes with a hint; never a traceback, never a credential."""

from __future__ import annotations


class DatabaseError(Exception):
    def __init__(self, cause: str, hint: str | None = None):
        super().__init__(cause)
        self.cause = cause
        self.hint = hint

    def __str__(self) -> str:
        return self.cause + (f"\n  hint: {self.hint}" if self.hint else "")


def explain_driver_error(error: BaseException, schema: str | None) -> DatabaseError:
    """Map a driver exception to a cause a person can act on (message text only, no URL)."""
    text = str(getattr(error, "orig", None) or error)
    lower = text.lower()
    where = f" in schema `{schema}`" if schema else ""
    if "does not exist" in lower and ("table" in lower or "relation" in lower):
        name = _quoted_name(text)
        return DatabaseError(
            f"a CDM table is missing{where}: {name or 'see the database message'}",
            "check --cdm-schema / --vocab-schema, or load an OMOP CDM with `cohortql load`",
        )
    if "schema" in lower and ("does not exist" in lower or "not found" in lower):
        return DatabaseError(f"schema not found: {_quoted_name(text) or schema}", "check --cdm-schema / --vocab-schema")
    if "permission denied" in lower or "insufficient privilege" in lower:
        return DatabaseError(
            "permission denied reading the CDM", "ask the warehouse admin for SELECT on the CDM schema"
        )
    if "statement timeout" in lower or "canceling statement" in lower or "interrupt" in lower:
        return DatabaseError("the query ran out of time", "raise --timeout, or narrow the definition")
    if "password authentication failed" in lower or "authentication failed" in lower:
        return DatabaseError("authentication failed", "check the user and the password (PGPASSWORD or ~/.pgpass)")
    if "could not connect" in lower or "connection refused" in lower or "could not translate host" in lower:
        return DatabaseError(
            "cannot reach the database server", "check the host and port, and that the server is running"
        )
    if "database" in lower and "does not exist" in lower:
        return DatabaseError(
            f"database not found: {_quoted_name(text) or ''}".strip(), "check the database name in the URL"
        )
    first_line = text.strip().splitlines()[0] if text.strip() else error.__class__.__name__
    return DatabaseError(f"the database refused the query: {first_line}", None)


def _quoted_name(text: str) -> str | None:
    for quote in ('"', "'"):
        start = text.find(quote)
        end = text.find(quote, start + 1)
        if start >= 0 and end > start:
            return text[start + 1 : end]
    return None
