"""meeting polls: a few slots members answer (by reaction or by command) until a deadline; the slot chosen becomes
a meeting

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting_poll",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("circle_slug", sa.String(length=64), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("video", sa.Boolean(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("chosen_slot", sa.Integer(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("private_room_id", sa.String(length=64), nullable=True),
        sa.Column("private_room_name", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["member.id"], name="fk_meeting_poll_author_id_member"),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], name="fk_meeting_poll_meeting_id_meeting"),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_poll"),
    )
    op.create_table(
        "meeting_poll_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["poll_id"], ["meeting_poll.id"], name="fk_meeting_poll_slot_poll_id_meeting_poll"),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_poll_slot"),
        sa.UniqueConstraint("poll_id", "number", name="uq_meeting_poll_slot_poll_id_number"),
    )
    op.create_table(
        "meeting_poll_vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("slot_number", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("by_reaction", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name="fk_meeting_poll_vote_member_id_member"),
        sa.ForeignKeyConstraint(["poll_id"], ["meeting_poll.id"], name="fk_meeting_poll_vote_poll_id_meeting_poll"),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_poll_vote"),
        sa.UniqueConstraint("poll_id", "slot_number", "member_id", name="uq_meeting_poll_vote_poll_id_slot_number"),
    )


def downgrade() -> None:
    op.drop_table("meeting_poll_vote")
    op.drop_table("meeting_poll_slot")
    op.drop_table("meeting_poll")
