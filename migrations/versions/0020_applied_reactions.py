"""applied reactions: the reactions on the bot's posts whose change was applied, so that a restart does not apply
them again over what members changed since by command

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applied_reaction",
        sa.Column("post_id", sa.String(length=64), nullable=False),
        sa.Column("emoji", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("post_id", "emoji", "username", name="pk_applied_reaction"),
    )


def downgrade() -> None:
    op.drop_table("applied_reaction")
