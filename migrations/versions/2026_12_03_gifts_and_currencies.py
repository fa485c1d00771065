"""Gift memberships (gifts) and plans in several currencies (plans.currency_options, seeded for
the three standard plans in EUR, CHF and GBP; only the currencies listed in CURRENCIES are offered)

Revision ID: e3a91c7d5b20
Revises: 01657abfba2e
Created: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'e3a91c7d5b20'
down_revision = '01657abfba2e'
branch_labels = None
depends_on = None

# What the standard plans cost elsewhere: round local prices, not conversions of $5.
STANDARD_OPTIONS = {
    'monthly-5': {'eur': {'amount': 500}, 'chf': {'amount': 500}, 'gbp': {'amount': 400}},
    'yearly-50': {'eur': {'amount': 5000}, 'chf': {'amount': 5000}, 'gbp': {'amount': 4000}},
    'monthly-pwyw': {'eur': {'amount': 1000, 'min_amount': 500}, 'chf': {'amount': 1000, 'min_amount': 500},
                     'gbp': {'amount': 800, 'min_amount': 400}},
}


def upgrade() -> None:
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('currency_options', sa.JSON(), nullable=True))
    plans = sa.table('plans', sa.column('code', sa.String), sa.column('currency_options', sa.JSON))
    for code, options in STANDARD_OPTIONS.items():
        op.execute(plans.update().where(plans.c.code == code).values(currency_options=options))
    op.execute(plans.update().where(plans.c.currency_options.is_(None)).values(currency_options={}))
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.alter_column('currency_options', existing_type=sa.JSON(), nullable=False)

    op.create_table('gifts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('awaiting_payment', 'scheduled', 'delivered', 'redeemed', 'expired', 'revoked',
                                name='gift_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('purchaser_id', sa.Integer(), nullable=False),
    sa.Column('purchaser_name', sa.String(length=200), nullable=False),
    sa.Column('recipient_name', sa.String(length=200), nullable=False),
    sa.Column('recipient_email', sa.String(length=320), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('deliver_on', sa.Date(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('stripe_checkout_session_id', sa.String(length=255), nullable=True),
    sa.Column('contribution_id', sa.Integer(), nullable=True),
    sa.Column('token_nonce', sa.String(length=32), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('redeemed_as', sa.Enum('term', 'credit', name='gift_redemption', native_enum=False,
                                     create_constraint=True), nullable=True),
    sa.Column('credited_amount', sa.Integer(), nullable=True),
    sa.Column('credited_currency', sa.String(length=3), nullable=True),
    sa.Column('stripe_credit_id', sa.String(length=255), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_gifts_amount_positive')),
    sa.CheckConstraint('months > 0', name=op.f('ck_gifts_months_positive')),
    sa.ForeignKeyConstraint(['contribution_id'], ['contributions.id'], name=op.f('fk_gifts_contribution_id_contributions'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['purchaser_id'], ['members.id'], name=op.f('fk_gifts_purchaser_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['members.id'], name=op.f('fk_gifts_recipient_id_members'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gifts')),
    sa.UniqueConstraint('stripe_checkout_session_id', name=op.f('uq_gifts_stripe_checkout_session_id'))
    )
    with op.batch_alter_table('gifts', schema=None) as batch_op:
        batch_op.create_index('ix_gifts_purchaser', ['purchaser_id'], unique=False)
        batch_op.create_index('ix_gifts_recipient_email', ['recipient_email'], unique=False)
        batch_op.create_index('ix_gifts_status_deliver_on', ['status', 'deliver_on'], unique=False)


def downgrade() -> None:
    op.drop_table('gifts')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_column('currency_options')
