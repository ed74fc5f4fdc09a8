"""The deployment's disclosure policy floor, and the release ledger.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_floor",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("policy", sa.JSON, nullable=False),
        sa.Column("allow_looser_profiles", sa.Boolean, nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "ledger_entry",
        sa.Column("request_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("cdm", sa.JSON, nullable=False),
        sa.Column("definition_text", sa.Text, nullable=False),
        sa.Column("breakdown", sa.JSON, nullable=False),
        sa.Column("hidden", sa.JSON, nullable=False),
        sa.Column("cells", sa.JSON, nullable=False),
        sa.Column("recorded_at", sa.String(32), nullable=False),
    )


def downgrade() -> None:
    for table in ("ledger_entry", "policy_floor"):
        op.drop_table(table)
