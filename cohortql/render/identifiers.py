"""The one place identifiers (schema, table and column names) become SQL text: validated, then quoted."""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")


class IdentifierError(ValueError):
    pass


def quote_identifier(name: str, what: str = "name") -> str:
    """Quote a name after checking it is a plain identifier (no dots, quotes or spaces).

    `what` names the kind of name in the error message. Schema names come from the user; table
    and column names come from the CDM layout or a source's header, and are checked all the same.
    """
    if not _IDENTIFIER.fullmatch(name):
        raise IdentifierError(f"invalid {what} {name!r}: use letters, digits and underscores, starting with a letter")
    return f'"{name}"'


def qualifier(schema: str | None) -> str:
    """`"schema"` for a schema-qualified table name, or the empty default schema."""
    return quote_identifier(schema, "schema name") if schema else ""
