"""Parse stage: text -> syntax tree (`Definition`)."""

from cohortql.parse.parser import parse

__all__ = ["parse"]
