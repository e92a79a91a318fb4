"""consent rounds and decisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 21:25:03.322251
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consent_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('circle', sa.String(length=64), nullable=True),
    sa.Column('room_id', sa.String(length=64), nullable=False),
    sa.Column('room_name', sa.String(length=120), nullable=True),
    sa.Column('room_kind', sa.String(length=1), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('style', sa.String(length=8), nullable=False),
    sa.Column('quorum', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_late', sa.Boolean(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('post_id', sa.String(length=64), nullable=True),
    sa.Column('review_months', sa.Integer(), nullable=True),
    sa.Column('review_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['member.id'], name=op.f('fk_consent_round_author_id_member')),
    sa.ForeignKeyConstraint(['parent_id'], ['consent_round.id'], name=op.f('fk_consent_round_parent_id_consent_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_round')),
    sa.UniqueConstraint('post_id', name=op.f('uq_consent_round_post_id'))
    )
    with op.batch_alter_table('consent_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_round_circle'), ['circle'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_round_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_round_room_id'), ['room_id'], unique=False)

    op.create_table('consent_position',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], name=op.f('fk_consent_position_member_id_member')),
    sa.ForeignKeyConstraint(['round_id'], ['consent_round.id'], name=op.f('fk_consent_position_round_id_consent_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_position')),
    sa.UniqueConstraint('round_id', 'member_id', name='uq_consent_position_round_id_member_id')
    )
    op.create_table('decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('circle', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('adopted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('review_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['member.id'], name=op.f('fk_decision_author_id_member')),
    sa.ForeignKeyConstraint(['round_id'], ['consent_round.id'], name=op.f('fk_decision_round_id_consent_round')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision')),
    sa.UniqueConstraint('round_id', name=op.f('uq_decision_round_id'))
    )
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_circle'), ['circle'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_circle'))

    op.drop_table('decision')
    op.drop_table('consent_position')
    with op.batch_alter_table('consent_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_round_room_id'))
        batch_op.drop_index(batch_op.f('ix_consent_round_parent_id'))
        batch_op.drop_index(batch_op.f('ix_consent_round_circle'))

    op.drop_table('consent_round')
