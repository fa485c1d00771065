"""Webhook inbox retries (next attempt, ignore reason), once-only outbox messages, billing issues for staff

Revision ID: 648ae150bb8c
Revises: 8279d46cee8e
Created: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '648ae150bb8c'
down_revision = '8279d46cee8e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('billing_issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('refund', 'dispute', 'duplicate_subscription', name='billing_issue_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('stripe_object_id', sa.String(length=255), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('stripe_event_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_billing_issues_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_issues')),
    sa.UniqueConstraint('kind', 'stripe_object_id', name=op.f('uq_billing_issues_kind_stripe_object_id'))
    )
    with op.batch_alter_table('billing_issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_billing_issues_member_id'), ['member_id'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_outbox_dedupe_key'), ['dedupe_key'])

    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('detail', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('detail')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_outbox_dedupe_key'), type_='unique')
        batch_op.drop_column('dedupe_key')

    with op.batch_alter_table('billing_issues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_billing_issues_member_id'))

    op.drop_table('billing_issues')
