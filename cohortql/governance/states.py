"""The request state machine as data: which action may follow which state, and the state after it.

    submitted -> approved -> released (a release may be issued again)
              -> rejected
    submitted | approved -> withdrawn      approved -> revoked

The workflow enforces it; `audit verify` replays the audit records through it.
"""

from __future__ import annotations

STATES = ("submitted", "approved", "rejected", "released", "withdrawn", "revoked")

# action (as recorded in the audit) -> (states it may follow, state after); None: no request yet
# (before) or no change (after).
TRANSITIONS: dict[str, tuple[frozenset[str | None], str | None]] = {
    "submitted": (frozenset({None}), "submitted"),
    "ran": (frozenset({"submitted"}), "submitted"),  # a reviewed result is kept; no state change
    "approved": (frozenset({"submitted"}), "approved"),
    "rejected": (frozenset({"submitted"}), "rejected"),
    "withdrawn": (frozenset({"submitted", "approved"}), "withdrawn"),
    "revoked": (frozenset({"approved"}), "revoked"),
    "released": (frozenset({"approved", "released"}), "released"),
    "release_failed": (frozenset({"approved", "released"}), None),  # the document was not written
}
