"""Resolve stage: syntax tree -> plan, collecting every error before stopping."""

from cohortql.resolve.resolver import resolve

__all__ = ["resolve"]
