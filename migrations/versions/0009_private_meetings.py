"""meetings said only in a private room

A meeting of a circle with no public channel, announced in a private group, is shown only in that room or to its
members: the room is recorded. Existing meetings stay public (NULL).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("private_room_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("private_room_name", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("private_room_name")
        batch_op.drop_column("private_room_id")
