"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 20:52:54.399333
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('circle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('public_channel', sa.String(length=120), nullable=True),
    sa.Column('private_channel', sa.String(length=120), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_circle')),
    sa.UniqueConstraint('slug', name=op.f('uq_circle_slug'))
    )
    op.create_table('member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=120), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member')),
    sa.UniqueConstraint('user_id', name=op.f('uq_member_user_id'))
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_username'), ['username'], unique=False)

    op.create_table('processed_message',
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('room_id', sa.String(length=64), nullable=False),
    sa.Column('ts', sa.DateTime(timezone=True), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_processed_message'))
    )
    with op.batch_alter_table('processed_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processed_message_room_id'), ['room_id'], unique=False)

    op.create_table('budget_year',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['member.id'], name=op.f('fk_budget_year_closed_by_id_member')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_budget_year'))
    )
    op.create_table('envelope',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('circle_id', sa.Integer(), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('rate_cents', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('flat_min_cents', sa.BigInteger(), nullable=True),
    sa.Column('flat_max_cents', sa.BigInteger(), nullable=True),
    sa.Column('spent_cents', sa.BigInteger(), nullable=False),
    sa.Column('committed_cents', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['circle_id'], ['circle.id'], name=op.f('fk_envelope_circle_id_circle')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_envelope')),
    sa.UniqueConstraint('year', 'slug', name='uq_envelope_year_slug')
    )
    op.create_table('contribution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('envelope_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=True),
    sa.Column('rate_cents', sa.Integer(), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('work_date', sa.Date(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('intention_id', sa.Integer(), nullable=True),
    sa.Column('realized_cents', sa.BigInteger(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('source_message_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['member.id'], name=op.f('fk_contribution_cancelled_by_id_member')),
    sa.ForeignKeyConstraint(['envelope_id'], ['envelope.id'], name=op.f('fk_contribution_envelope_id_envelope')),
    sa.ForeignKeyConstraint(['intention_id'], ['contribution.id'], name=op.f('fk_contribution_intention_id_contribution')),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_contribution_member_id_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contribution')),
    sa.UniqueConstraint('source_message_id', name=op.f('uq_contribution_source_message_id'))
    )
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.create_index('ix_contribution_envelope_id_id', ['envelope_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contribution_intention_id'), ['intention_id'], unique=False)
        batch_op.create_index('ix_contribution_member_id_work_date', ['member_id', 'work_date'], unique=False)

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('envelope_id', sa.Integer(), nullable=True),
    sa.Column('contribution_id', sa.Integer(), nullable=True),
    sa.Column('old_cents', sa.BigInteger(), nullable=True),
    sa.Column('new_cents', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['member.id'], name=op.f('fk_audit_event_actor_id_member')),
    sa.ForeignKeyConstraint(['contribution_id'], ['contribution.id'], name=op.f('fk_audit_event_contribution_id_contribution')),
    sa.ForeignKeyConstraint(['envelope_id'], ['envelope.id'], name=op.f('fk_audit_event_envelope_id_envelope')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_envelope_id'), ['envelope_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_year'), ['year'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_year'))
        batch_op.drop_index(batch_op.f('ix_audit_event_envelope_id'))

    op.drop_table('audit_event')
    with op.batch_alter_table('contribution', schema=None) as batch_op:
        batch_op.drop_index('ix_contribution_member_id_work_date')
        batch_op.drop_index(batch_op.f('ix_contribution_intention_id'))
        batch_op.drop_index('ix_contribution_envelope_id_id')

    op.drop_table('contribution')
    op.drop_table('envelope')
    op.drop_table('budget_year')
    with op.batch_alter_table('processed_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processed_message_room_id'))

    op.drop_table('processed_message')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_username'))

    op.drop_table('member')
    op.drop_table('circle')
