"""Giving: contributions (backfilled from every paid invoice, so history starts complete), annual
statements, term memberships and attribution on members, gift details on checkout attempts; and
the member page's consent history gets its index

Revision ID: 08354920df02
Revises: 7c1e2f0a9b34
Created: 2026-11-30
"""
from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '08354920df02'
down_revision = '7c1e2f0a9b34'
branch_labels = None
depends_on = None

OLD_KINDS = ('status_changed', 'joined', 'comp_granted', 'comp_ended', 'billing_synced', 'flagged', 'note',
             'signin_sent', 'email_changed')
NEW_KINDS = (*OLD_KINDS, 'contributed', 'term_granted')


def _retype_kind(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    """Widen or narrow the activity kind's CHECK constraint (SQLite rebuilds the table)."""
    with op.batch_alter_table('member_activity', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_member_activity_activity_kind'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(max(map(len, old))),
                              type_=sa.String(max(map(len, new))), existing_nullable=False)
    with op.batch_alter_table('member_activity', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(max(map(len, new))),
                              type_=sa.Enum(*new, name='activity_kind', native_enum=False, create_constraint=True),
                              existing_nullable=False)


def _backfill_contributions() -> None:
    """Every paid invoice becomes a membership contribution with its receipt number (the year it
    was paid and the row's id, as the service numbers new ones). Stripe's payment ids are filled
    in when a refund or dispute for the payment arrives."""
    bind = op.get_bind()
    invoices = sa.table('invoices', sa.column('member_id'), sa.column('stripe_invoice_id'), sa.column('status'),
                        sa.column('amount_paid', sa.Integer), sa.column('currency'),
                        sa.column('paid_at', sa.DateTime(timezone=True)),
                        sa.column('stripe_created_at', sa.DateTime(timezone=True)))
    contributions = sa.table('contributions', sa.column('id', sa.Integer), sa.column('member_id'), sa.column('kind'),
                             sa.column('amount'), sa.column('currency'), sa.column('stripe_invoice_id'),
                             sa.column('paid_at', sa.DateTime(timezone=True)), sa.column('attribution', sa.JSON),
                             sa.column('receipt_number'), sa.column('created_at', sa.DateTime(timezone=True)),
                             sa.column('updated_at', sa.DateTime(timezone=True)))
    rows = bind.execute(sa.select(invoices).where(invoices.c.status == 'paid', invoices.c.amount_paid > 0)
                        .order_by(sa.func.coalesce(invoices.c.paid_at, invoices.c.stripe_created_at))).all()
    now = datetime.now(UTC)
    for row in rows:
        paid_at = row.paid_at or row.stripe_created_at
        new_id = bind.execute(sa.insert(contributions).values(
            member_id=row.member_id, kind='membership', amount=row.amount_paid, currency=row.currency,
            stripe_invoice_id=row.stripe_invoice_id, paid_at=paid_at, attribution={}, created_at=now,
            updated_at=now).returning(contributions.c.id)).scalar_one()
        bind.execute(sa.update(contributions).where(contributions.c.id == new_id)
                     .values(receipt_number=f'{paid_at.year}-{new_id:06d}'))


def upgrade() -> None:
    op.create_table('contributions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('membership', 'one_time', 'gift_purchase', name='contribution_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('fee_covered', sa.Integer(), server_default='0', nullable=False),
    sa.Column('refunded_amount', sa.Integer(), server_default='0', nullable=False),
    sa.Column('disputed_amount', sa.Integer(), server_default='0', nullable=False),
    sa.Column('stripe_invoice_id', sa.String(length=255), nullable=True),
    sa.Column('stripe_payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('stripe_charge_id', sa.String(length=255), nullable=True),
    sa.Column('stripe_checkout_session_id', sa.String(length=255), nullable=True),
    sa.Column('stripe_fee', sa.Integer(), nullable=True),
    sa.Column('stripe_net', sa.Integer(), nullable=True),
    sa.Column('settlement_currency', sa.String(length=3), nullable=True),
    sa.Column('exchange_rate', sa.String(length=40), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('campaign', sa.String(length=100), nullable=True),
    sa.Column('attribution', sa.JSON(), nullable=False),
    sa.Column('dedication_type', sa.Enum('honour', 'memory', name='dedication_type', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('dedication_name', sa.String(length=200), nullable=True),
    sa.Column('dedication_notify_email', sa.String(length=320), nullable=True),
    sa.Column('anonymous', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=True),
    sa.Column('receipt_number', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_contributions_amount_positive')),
    sa.CheckConstraint('disputed_amount >= 0 AND disputed_amount <= amount', name=op.f('ck_contributions_dispute_within_amount')),
    sa.CheckConstraint('fee_covered >= 0 AND fee_covered < amount', name=op.f('ck_contributions_fee_covered_within_amount')),
    sa.CheckConstraint('refunded_amount >= 0 AND refunded_amount <= amount', name=op.f('ck_contributions_refund_within_amount')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_contributions_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contributions')),
    sa.UniqueConstraint('receipt_number', name=op.f('uq_contributions_receipt_number')),
    sa.UniqueConstraint('stripe_checkout_session_id', name=op.f('uq_contributions_stripe_checkout_session_id')),
    sa.UniqueConstraint('stripe_invoice_id', name=op.f('uq_contributions_stripe_invoice_id')),
    sa.UniqueConstraint('stripe_payment_intent_id', name=op.f('uq_contributions_stripe_payment_intent_id'))
    )
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.create_index('ix_contributions_campaign_paid', ['campaign', 'paid_at'], unique=False)
        batch_op.create_index('ix_contributions_member_paid', ['member_id', 'paid_at'], unique=False)
        batch_op.create_index('ix_contributions_paid', ['paid_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_contributions_stripe_charge_id'), ['stripe_charge_id'], unique=False)

    op.create_table('statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('contributions', sa.Integer(), nullable=False),
    sa.Column('totals', sa.JSON(), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_statements_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_statements_staff_user_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statements')),
    sa.UniqueConstraint('member_id', 'fiscal_year', name=op.f('uq_statements_member_id_fiscal_year'))
    )
    with op.batch_alter_table('checkout_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), server_default='membership', nullable=False))
        batch_op.add_column(sa.Column('fee_covered', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=True))
        batch_op.alter_column('plan_id',
               existing_type=sa.INTEGER(),
               nullable=True)

    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.create_index('ix_consent_records_member_created', ['member_id', 'created_at'], unique=False)

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('term_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('term_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('term_reminded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_touch', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('latest_touch', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_members_term_until'), ['term_until'], unique=False)

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attribution', sa.JSON(), nullable=True))

    _retype_kind(OLD_KINDS, NEW_KINDS)
    _backfill_contributions()


def downgrade() -> None:
    op.execute("UPDATE member_activity SET kind = 'note' WHERE kind IN ('contributed', 'term_granted')")
    _retype_kind(NEW_KINDS, OLD_KINDS)
    # Gift checkouts have no plan, and the old schema needs one.
    op.execute("DELETE FROM checkout_attempts WHERE plan_id IS NULL")
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('attribution')

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_term_until'))
        batch_op.drop_column('latest_touch')
        batch_op.drop_column('first_touch')
        batch_op.drop_column('term_reminded_at')
        batch_op.drop_column('term_until')
        batch_op.drop_column('term_since')

    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_records_member_created')

    with op.batch_alter_table('checkout_attempts', schema=None) as batch_op:
        batch_op.alter_column('plan_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('details')
        batch_op.drop_column('fee_covered')
        batch_op.drop_column('kind')

    op.drop_table('statements')
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contributions_stripe_charge_id'))
        batch_op.drop_index('ix_contributions_paid')
        batch_op.drop_index('ix_contributions_member_paid')
        batch_op.drop_index('ix_contributions_campaign_paid')

    op.drop_table('contributions')
