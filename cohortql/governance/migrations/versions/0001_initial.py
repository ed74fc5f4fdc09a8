"""Requests, the audit chain with its head, role grants.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "sha256:" + "0" * 64  # the `prev_hash` of the first record; kept in step with chain.GENESIS


def upgrade() -> None:
    op.create_table(
        "request",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("study", sa.String(200), nullable=False),
        sa.Column("sponsor", sa.String(200), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("requester", sa.String(64), nullable=False),
        sa.Column("submitted_at", sa.String(32), nullable=False),
        sa.Column("definition_path", sa.Text, nullable=False),
        sa.Column("definition_text", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(80), nullable=False),
        sa.Column("engine", sa.JSON, nullable=False),
        sa.Column("policy", sa.JSON, nullable=False),
        sa.Column("result", sa.JSON),
        sa.Column("result_sha256", sa.String(80)),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", sa.String(32)),
        sa.Column("decision_note", sa.Text),
    )
    op.create_table(
        "audit_record",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("request_id", sa.Integer),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(80), nullable=False),
        sa.Column("hash", sa.String(80), nullable=False),
    )
    op.create_index("ix_request_state", "request", ["state"])
    op.create_index("ix_audit_record_request_id", "audit_record", ["request_id"])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(80), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS}])
    op.create_table(
        "role_grant",
        sa.Column("user_name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    for table in ("role_grant", "audit_head", "audit_record", "request"):
        op.drop_table(table)
