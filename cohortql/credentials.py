"""Credentials kept out of everything shown, stored, chained or stamped: URLs and texts stripped of them.

A database URL may carry a secret in its authority (`user:secret@host`) or in its query string
(`?password=...`, `?sslpassword=...`, `?passfile=...`, a token). Every engine description
cohortql prints, keeps in the governance store, writes into the audit chain or stamps on a
release goes through `strip_url` (a parsed URL) or `redact_text` (any text).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

# Query parameters that are, or point to, a secret (libpq's, JDBC's and the common token names).
CREDENTIAL_PARAMETERS = frozenset({
    "password", "passwd", "pwd", "pass", "sslpassword", "passfile", "sslkey", "sslpassphrase",
    "token", "access_token", "auth_token", "secret", "client_secret", "api_key", "apikey",
    "aws_secret_access_key", "aws_session_token", "private_key", "private_key_file",
})
_CREDENTIAL_WORDS = ("password", "passwd", "secret", "token", "apikey", "api_key")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+")


def is_credential(name: str) -> bool:
    lowered = name.lower()
    return lowered in CREDENTIAL_PARAMETERS or any(word in lowered for word in _CREDENTIAL_WORDS)


def strip_url(url: URL) -> URL:
    """The URL without its password and without any credential query parameter."""
    query = {key: value for key, value in url.query.items() if not is_credential(key)}
    # URL.set ignores None, so the password is dropped by building the URL again.
    return type(url).create(url.drivername, url.username, None, url.host, url.port, url.database, query)


def secrets_of(url: URL) -> tuple[str, ...]:
    """Every secret value the URL carries, to scrub from driver messages."""
    values = [url.password] if url.password else []
    for key, value in url.query.items():
        if is_credential(key):
            values += [value] if isinstance(value, str) else list(value)
    return tuple(str(v) for v in values if v)


def _strip_url_text(text: str) -> str:
    trail = re.search(r"[.,;:)\]]*$", text).group(0)  # punctuation after a URL in prose is not part of it
    core = text[: len(text) - len(trail)] if trail else text
    try:
        parts = urlsplit(core)
    except ValueError:
        return "***" + trail
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    query = parts.query
    if query:
        kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not is_credential(k)]
        query = urlencode(kept, quote_via=quote, safe="/=%")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)) + trail


def redact_text(text: str) -> str:
    """`text` with every URL in it stripped of its credentials (the rest unchanged)."""
    return _URL.sub(lambda match: _strip_url_text(match.group(0)), text)


def redact(value):
    """A JSON-like value with every string in it passed through `redact_text`."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value
