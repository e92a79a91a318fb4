"""meeting attendance: whether each member comes to a meeting (yes, maybe, no), by command or by reaction

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 12:00:00

Numbered 0014 as planned, but chained after 0015 (the head when it was written): Alembic follows down_revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_reaction", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], name="fk_meeting_attendance_meeting_id_meeting"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name="fk_meeting_attendance_member_id_member"),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_attendance"),
        sa.UniqueConstraint("meeting_id", "member_id", name="uq_meeting_attendance_meeting_id_member_id"),
    )


def downgrade() -> None:
    op.drop_table("meeting_attendance")
