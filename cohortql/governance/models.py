"""The store's tables as SQLAlchemy 2 models; schema changes go through `migrations/`.

Times are ISO 8601 UTC text (`2024-05-01T09:30:00.000000Z`): identical on SQLite and
PostgreSQL, so an audit record hashes the same wherever it is read back, and it sorts in time order.
"""

from __future__ import annotations

from sqlalchemy import JSON, Integer, String, Text
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
