"""The one place identifiers (schema names) become SQL text: validated, then quoted."""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")


class IdentifierError(ValueError):
    pass


def quote_identifier(name: str) -> str:
    """Quote a schema name after checking it is a plain identifier (no dots, quotes or spaces)."""
    if not _IDENTIFIER.fullmatch(name):
        raise IdentifierError(
            f"invalid schema name {name!r}: use letters, digits and underscores, starting with a letter"
        )
    return f'"{name}"'


def qualifier(schema: str | None) -> str:
    """`"schema"` for a schema-qualified table name, or the empty default schema."""
    return quote_identifier(schema) if schema else ""
