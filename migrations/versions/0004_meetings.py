"""meetings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 21:26:15.223163
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('circle_slug', sa.String(length=64), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('place', sa.Text(), nullable=False),
    sa.Column('link', sa.Text(), nullable=False),
    sa.Column('agenda', sa.Text(), nullable=False),
    sa.Column('rrule', sa.Text(), nullable=True),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('occurrence_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['member.id'], name=op.f('fk_meeting_author_id_member')),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['member.id'], name=op.f('fk_meeting_cancelled_by_id_member')),
    sa.ForeignKeyConstraint(['series_id'], ['meeting.id'], name=op.f('fk_meeting_series_id_meeting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting')),
    sa.UniqueConstraint('series_id', 'occurrence_start', name='uq_meeting_series_id_occurrence_start')
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index('ix_meeting_circle_slug_start_at', ['circle_slug', 'start_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index('ix_meeting_circle_slug_start_at')

    op.drop_table('meeting')
