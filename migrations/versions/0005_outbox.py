"""outbox

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 21:24:30.223326
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('room_id', sa.String(length=64), nullable=True),
    sa.Column('room_name', sa.String(length=120), nullable=True),
    sa.Column('thread_id', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbox_message_message_id'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_message_status_id', ['status', 'id'], unique=False)

    with op.batch_alter_table('processed_message', schema=None) as batch_op:
        batch_op.create_index('ix_processed_message_room_id_ts', ['room_id', 'ts'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('processed_message', schema=None) as batch_op:
        batch_op.drop_index('ix_processed_message_room_id_ts')

    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_status_id')

    op.drop_table('outbox_message')
