"""an index for the year's closing report (`/budget bilan`): per envelope and status, covering what it sums

The report reads only the declarations not paid yet (and the questioned paid ones) from the index, without the
table: (envelope_id, status, review, member_id, amount_cents).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 09:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_contribution_envelope_id_status_review",
        "contribution",
        ["envelope_id", "status", "review", "member_id", "amount_cents"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_contribution_envelope_id_status_review", table_name="contribution")
