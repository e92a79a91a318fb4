"""consent as the circles practise it: clarifying questions, a clarification phase, who did not answer a decision

`consent_question`: questions asked on a round before positions (numbered per round) and their answers;
`consent_round.positions_from`: the end of a clarification phase (positions refused until then);
`decision.not_answered`: how many members of the round's room had not answered when it was adopted.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["member.id"], name=op.f("fk_consent_question_author_id_member")),
        sa.ForeignKeyConstraint(["answered_by"], ["member.id"], name=op.f("fk_consent_question_answered_by_member")),
        sa.ForeignKeyConstraint(
            ["round_id"], ["consent_round.id"], name=op.f("fk_consent_question_round_id_consent_round")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_question")),
        sa.UniqueConstraint("round_id", "number", name="uq_consent_question_round_id_number"),
    )
    with op.batch_alter_table("consent_round") as batch:
        batch.add_column(sa.Column("positions_from", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("decision") as batch:
        batch.add_column(sa.Column("not_answered", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decision") as batch:
        batch.drop_column("not_answered")
    with op.batch_alter_table("consent_round") as batch:
        batch.drop_column("positions_from")
    op.drop_table("consent_question")
