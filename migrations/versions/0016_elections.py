"""elections without candidates: the election (role, term, room, facilitator, phase, the consent round on its
proposal) and one nomination per member and election

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "election",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("circle", sa.String(length=64), nullable=True),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("room_name", sa.String(length=120), nullable=True),
        sa.Column("room_kind", sa.String(length=1), nullable=False),
        sa.Column("facilitator_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=200), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nominations_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("post_id", sa.String(length=64), nullable=True),
        sa.Column("nominee_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["facilitator_id"], ["member.id"], name=op.f("fk_election_facilitator_id_member")),
        sa.ForeignKeyConstraint(["nominee_id"], ["member.id"], name=op.f("fk_election_nominee_id_member")),
        sa.ForeignKeyConstraint(["round_id"], ["consent_round.id"], name=op.f("fk_election_round_id_consent_round")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_election")),
        sa.UniqueConstraint("post_id", name=op.f("uq_election_post_id")),
    )
    op.create_index(op.f("ix_election_room_id"), "election", ["room_id"], unique=False)
    op.create_table(
        "election_nomination",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("nominee_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("revealed_nominee_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["election_id"], ["election.id"], name=op.f("fk_election_nomination_election_id_election")
        ),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name=op.f("fk_election_nomination_member_id_member")),
        sa.ForeignKeyConstraint(["nominee_id"], ["member.id"], name=op.f("fk_election_nomination_nominee_id_member")),
        sa.ForeignKeyConstraint(
            ["revealed_nominee_id"],
            ["member.id"],
            name=op.f("fk_election_nomination_revealed_nominee_id_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_election_nomination")),
        sa.UniqueConstraint("election_id", "member_id", name=op.f("uq_election_nomination_election_id_member_id")),
    )


def downgrade() -> None:
    op.drop_table("election_nomination")
    op.drop_index(op.f("ix_election_room_id"), table_name="election")
    op.drop_table("election")
