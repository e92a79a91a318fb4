"""scheduled tasks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 21:20:44.421560
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scheduled_task',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('ref_id', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_task'))
    )
    with op.batch_alter_table('scheduled_task', schema=None) as batch_op:
        batch_op.create_index('ix_scheduled_task_kind_ref_id', ['kind', 'ref_id'], unique=False)
        batch_op.create_index('ix_scheduled_task_status_due_at', ['status', 'due_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('scheduled_task', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_task_status_due_at')
        batch_op.drop_index('ix_scheduled_task_kind_ref_id')

    op.drop_table('scheduled_task')
