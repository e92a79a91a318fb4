"""consent position by reaction

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 22:14:56.292910
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing positions were all counted as given by command: false for them.
    with op.batch_alter_table("consent_position", schema=None) as batch_op:
        batch_op.add_column(sa.Column("by_reaction", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("consent_position", schema=None) as batch_op:
        batch_op.drop_column("by_reaction")
