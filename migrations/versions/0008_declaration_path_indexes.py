"""indexes for the declaration path: one for the open-intention lookup, one redundant one dropped

Every declaration looks up the member's open intention on its envelope. processed_message.room_id had an index of
its own besides (room_id, ts), which covers it: one index less to write per handled message.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 23:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_contribution_member_id_envelope_id_status",
        "contribution",
        ["member_id", "envelope_id", "status"],
        unique=False,
    )
    op.drop_index("ix_processed_message_room_id", table_name="processed_message")


def downgrade() -> None:
    op.create_index("ix_processed_message_room_id", "processed_message", ["room_id"], unique=False)
    op.drop_index("ix_contribution_member_id_envelope_id_status", table_name="contribution")
