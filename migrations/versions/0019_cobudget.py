"""co-budget rounds: a round's amount shared equally among its participants, given to projects, every change an event

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cobudget_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=True),
        sa.Column("room_name", sa.String(length=120), nullable=True),
        sa.Column("room_kind", sa.String(length=1), nullable=False),
        sa.Column("opened_at", _INSTANT, nullable=False),
        sa.Column("funding_from", _INSTANT, nullable=False),
        sa.Column("closes_at", _INSTANT, nullable=False),
        sa.Column("funding_opened_at", _INSTANT, nullable=True),
        sa.Column("closed_at", _INSTANT, nullable=True),
        sa.Column("participants", sa.Integer(), nullable=True),
        sa.Column("share_cents", sa.BigInteger(), nullable=True),
        sa.Column("remainder_cents", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["member.id"], name="fk_cobudget_round_author_id_member"),
        sa.PrimaryKeyConstraint("id", name="pk_cobudget_round"),
    )
    op.create_table(
        "cobudget_project",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("target_cents", sa.BigInteger(), nullable=False),
        sa.Column("min_cents", sa.BigInteger(), nullable=True),
        sa.Column("funded_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
        sa.Column("envelope_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["member.id"], name="fk_cobudget_project_author_id_member"),
        sa.ForeignKeyConstraint(
            ["round_id"], ["cobudget_round.id"], name="fk_cobudget_project_round_id_cobudget_round"
        ),
        sa.ForeignKeyConstraint(["envelope_id"], ["envelope.id"], name="fk_cobudget_project_envelope_id_envelope"),
        sa.PrimaryKeyConstraint("id", name="pk_cobudget_project"),
        sa.UniqueConstraint("envelope_id", name="uq_cobudget_project_envelope_id"),
    )
    op.create_index("ix_cobudget_project_round_id", "cobudget_project", ["round_id"])
    op.create_table(
        "cobudget_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", _INSTANT, nullable=False),
        sa.Column("share_cents", sa.BigInteger(), nullable=False),
        sa.Column("given_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name="fk_cobudget_participant_member_id_member"),
        sa.ForeignKeyConstraint(
            ["round_id"], ["cobudget_round.id"], name="fk_cobudget_participant_round_id_cobudget_round"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cobudget_participant"),
        sa.UniqueConstraint("round_id", "member_id", name="uq_cobudget_participant_round_id_member_id"),
    )
    op.create_table(
        "cobudget_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("delta_cents", sa.BigInteger(), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name="fk_cobudget_event_member_id_member"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["cobudget_project.id"], name="fk_cobudget_event_project_id_cobudget_project"
        ),
        sa.ForeignKeyConstraint(["round_id"], ["cobudget_round.id"], name="fk_cobudget_event_round_id_cobudget_round"),
        sa.PrimaryKeyConstraint("id", name="pk_cobudget_event"),
    )
    op.create_index("ix_cobudget_event_round_id_id", "cobudget_event", ["round_id", "id"])
    op.create_index("ix_cobudget_event_project_id", "cobudget_event", ["project_id"])


def downgrade() -> None:
    op.drop_table("cobudget_event")
    op.drop_table("cobudget_participant")
    op.drop_table("cobudget_project")
    op.drop_table("cobudget_round")
