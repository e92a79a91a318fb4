"""the contributory budget all year: questions, invoicing and payment, corrections in the audit

Declarations may be questioned afterwards (a review state and the questions themselves), invoiced and paid by a
treasurer (reference, who and when), and corrected (the audit keeps what changed, before → after).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chatbot.db.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contribution", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("invoice_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("billed_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("billed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("paid_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("paid_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_contribution_billed_by_id_member", "member", ["billed_by_id"], ["id"])
        batch_op.create_foreign_key("fk_contribution_paid_by_id_member", "member", ["paid_by_id"], ["id"])
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detail", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "contribution_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.Column("asked_by_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["asked_by_id"], ["member.id"], name="fk_contribution_question_asked_by_id_member"),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["member.id"], name="fk_contribution_question_closed_by_id_member"
        ),
        sa.ForeignKeyConstraint(
            ["contribution_id"], ["contribution.id"], name="fk_contribution_question_contribution_id_contribution"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contribution_question"),
    )
    with op.batch_alter_table("contribution_question", schema=None) as batch_op:
        batch_op.create_index("ix_contribution_question_contribution_id", ["contribution_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contribution_question", schema=None) as batch_op:
        batch_op.drop_index("ix_contribution_question_contribution_id")
    op.drop_table("contribution_question")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("detail")
    with op.batch_alter_table("contribution", schema=None) as batch_op:
        batch_op.drop_constraint("fk_contribution_paid_by_id_member", type_="foreignkey")
        batch_op.drop_constraint("fk_contribution_billed_by_id_member", type_="foreignkey")
        batch_op.drop_column("paid_by_id")
        batch_op.drop_column("paid_at")
        batch_op.drop_column("billed_by_id")
        batch_op.drop_column("billed_at")
        batch_op.drop_column("invoice_ref")
        batch_op.drop_column("review")
