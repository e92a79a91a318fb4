"""index for the open-intention lookup every declaration makes

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 23:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_contribution_member_id_envelope_id_status",
        "contribution",
        ["member_id", "envelope_id", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contribution_member_id_envelope_id_status", table_name="contribution")
