"""The store's tables as SQLAlchemy 2 models; schema changes go through `migrations/`.

Times are ISO 8601 UTC text (`2024-05-01T09:30:00.000000Z`): identical on SQLite and
PostgreSQL, so an audit record hashes the same wherever it is read back, and it sorts in time order.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Request(Base):
    """One question for one sponsor and what it is bound to; `state` and the decision change over time.

    This row is a projection of the audit records: `audit verify` replays them and compares.
    """

    __tablename__ = "request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    study: Mapped[str] = mapped_column(String(200))
    sponsor: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    requester: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[str] = mapped_column(String(32))
    definition_path: Mapped[str] = mapped_column(Text)
    definition_text: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(80))
    engine: Mapped[dict] = mapped_column(JSON)
    policy: Mapped[dict] = mapped_column(JSON)
    # The protected result the steward reviewed (ProtectedResult.to_dict()) and its hash.
    result: Mapped[dict | None] = mapped_column(JSON)
    result_sha256: Mapped[str | None] = mapped_column(String(80))
    # The latest decision: approval, rejection, withdrawal or revocation.
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[str | None] = mapped_column(String(32))
    decision_note: Mapped[str | None] = mapped_column(Text)


class AuditRecord(Base):
    """Append-only; `hash` covers this record's content and `prev_hash`, the hash of the record before."""

    __tablename__ = "audit_record"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    request_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed exactly as stored
    prev_hash: Mapped[str] = mapped_column(String(80))
    hash: Mapped[str] = mapped_column(String(80))


class AuditHead(Base):
    """The single row naming the last record: the lock every write takes, and a check on the chain's end."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(80))


class RoleGrant(Base):
    __tablename__ = "role_grant"

    user_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[str] = mapped_column(String(32))


class PolicyFloor(Base):
    """The single row holding the disclosure policy the deployment requires (set by an admin, chained)."""

    __tablename__ = "policy_floor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    policy: Mapped[dict] = mapped_column(JSON)  # DisclosurePolicy.to_dict()
    allow_looser_profiles: Mapped[bool] = mapped_column(Boolean)  # may an insider's own count go below it
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[str] = mapped_column(String(32))


class LedgerEntry(Base):
    """What one approved request releases, and how to recompute the persons behind every released cell.

    Person sets are never stored: the definition, its breakdown and the CDM identity let the
    ledger re-run the cohort in the process that checks a new release (see cohortql/protect/ledger.py).
    """

    __tablename__ = "ledger_entry"

    request_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    cdm: Mapped[dict] = mapped_column(JSON)  # the engine's identity (Target.to_dict())
    definition_text: Mapped[str] = mapped_column(Text)
    breakdown: Mapped[list] = mapped_column(JSON)  # the breakdown dimensions released
    hidden: Mapped[list] = mapped_column(JSON)  # cells hidden against earlier releases
    cells: Mapped[list] = mapped_column(JSON)  # [{"key", "blocks", "status", "value"}] as released
    recorded_at: Mapped[str] = mapped_column(String(32))
