"""votes: ballots (one member, one vote), public choices, secret voters and anonymous tallies; the decision
register takes adopted ballots too (decision.round_id becomes optional, decision.ballot_id is added)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ballot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("room_name", sa.String(length=120), nullable=True),
        sa.Column("room_kind", sa.String(length=1), nullable=False),
        sa.Column("circle", sa.String(length=64), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("electorate", sa.String(length=16), nullable=False),
        sa.Column("majority", sa.String(length=16), nullable=False),
        sa.Column("quorum_percent", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_late", sa.Boolean(), nullable=False),
        sa.Column("electorate_size", sa.Integer(), nullable=True),
        sa.Column("adopted", sa.Boolean(), nullable=True),
        sa.Column("post_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["member.id"], name="fk_ballot_author_id_member"),
        sa.PrimaryKeyConstraint("id", name="pk_ballot"),
        sa.UniqueConstraint("post_id", name="uq_ballot_post_id"),
    )
    op.create_index("ix_ballot_room_id", "ballot", ["room_id"])
    op.create_table(
        "ballot_vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ballot_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_reaction", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(["ballot_id"], ["ballot.id"], name="fk_ballot_vote_ballot_id_ballot"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name="fk_ballot_vote_member_id_member"),
        sa.PrimaryKeyConstraint("id", name="pk_ballot_vote"),
        sa.UniqueConstraint("ballot_id", "member_id", name="uq_ballot_vote_ballot_id_member_id"),
    )
    op.create_table(
        "ballot_voter",
        sa.Column("ballot_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ballot_id"], ["ballot.id"], name="fk_ballot_voter_ballot_id_ballot"),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"], name="fk_ballot_voter_member_id_member"),
        sa.PrimaryKeyConstraint("ballot_id", "member_id", name="pk_ballot_voter"),
    )
    op.create_table(
        "ballot_tally",
        sa.Column("ballot_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ballot_id"], ["ballot.id"], name="fk_ballot_tally_ballot_id_ballot"),
        sa.PrimaryKeyConstraint("ballot_id", "choice", name="pk_ballot_tally"),
    )
    with op.batch_alter_table("decision") as batch:
        batch.alter_column("round_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("ballot_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_decision_ballot_id_ballot", "ballot", ["ballot_id"], ["id"])
        batch.create_unique_constraint("uq_decision_ballot_id", ["ballot_id"])


def downgrade() -> None:
    op.execute("DELETE FROM decision WHERE round_id IS NULL")
    with op.batch_alter_table("decision") as batch:
        batch.drop_constraint("uq_decision_ballot_id", type_="unique")
        batch.drop_constraint("fk_decision_ballot_id_ballot", type_="foreignkey")
        batch.drop_column("ballot_id")
        batch.alter_column("round_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("ballot_tally")
    op.drop_table("ballot_voter")
    op.drop_table("ballot_vote")
    op.drop_index("ix_ballot_room_id", table_name="ballot")
    op.drop_table("ballot")
