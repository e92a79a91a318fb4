"""outbox attachments

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 22:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A file posted with the message (e.g. a CSV export), and the server's id of its upload once made.
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_name", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("file_type", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("file_content", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("file_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("file_id")
        batch_op.drop_column("file_content")
        batch_op.drop_column("file_type")
        batch_op.drop_column("file_name")
