"""Governance failures: each one a sentence a person can act on, with an optional hint."""

from __future__ import annotations


class GovernanceError(Exception):
    """A refused or impossible governance action; the CLI prints it and exits with `exit_code`."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotFound(GovernanceError):
    """A request id or user that the store does not know (a usage error)."""

    exit_code = 2


class PermissionDenied(GovernanceError):
    """The acting user lacks the role, or is deciding their own request."""


class Refused(GovernanceError):
    """The request is not in a state, or no longer matches what was approved, for this action."""


class StoreError(GovernanceError):
    """The governance store cannot be opened or read."""
