"""The cancel flow's answers (cancellations): reason, the reader's words, the offer taken and the outcome,
counted per month by the insight figures

Revision ID: 7a3f9c1e4b62
Revises: 5d1c7e9a2b84
Created: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '7a3f9c1e4b62'
down_revision = '5d1c7e9a2b84'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new table only: nothing existing is rewritten, on PostgreSQL or SQLite.
    op.create_table('cancellations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('too_expensive', 'not_reading', 'technical', 'coverage', 'one_time_gift', 'other', 'not_given',
                                name='cancel_reason', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('offer', sa.Enum('pause', 'lower_amount', 'yearly', name='retention_offer', native_enum=False,
                               create_constraint=True), nullable=True),
    sa.Column('detail', sa.String(length=100), nullable=True),
    sa.Column('outcome', sa.Enum('kept', 'cancelled', name='cancel_outcome', native_enum=False,
                                 create_constraint=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_cancellations_member_id_members'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cancellations'))
    )
    with op.batch_alter_table('cancellations', schema=None) as batch_op:
        batch_op.create_index('ix_cancellations_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cancellations_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    op.drop_table('cancellations')
