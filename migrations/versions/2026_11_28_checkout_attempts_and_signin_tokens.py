"""Checkout attempts (a double submit reuses the open session) and passwordless sign-in tokens.

Revision ID: 9266a583b3e1
Revises: 648ae150bb8c
Created: 2026-11-28 00:32:41.564937
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '9266a583b3e1'
down_revision = '648ae150bb8c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('checkout_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('stripe_checkout_session_id', sa.String(length=255), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_checkout_attempts_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_checkout_attempts_plan_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkout_attempts')),
    sa.UniqueConstraint('stripe_checkout_session_id', name=op.f('uq_checkout_attempts_stripe_checkout_session_id'))
    )
    with op.batch_alter_table('checkout_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_checkout_attempts_member_created', ['member_id', 'created_at'], unique=False)

    op.create_table('signin_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('code_attempts', sa.Integer(), nullable=False),
    sa.Column('link_uses', sa.Integer(), nullable=False),
    sa.Column('first_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('code_spent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_signin_tokens_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signin_tokens'))
    )
    with op.batch_alter_table('signin_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_signin_tokens_member_created', ['member_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signin_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_signin_tokens_member_created')

    op.drop_table('signin_tokens')
    with op.batch_alter_table('checkout_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_checkout_attempts_member_created')

    op.drop_table('checkout_attempts')
