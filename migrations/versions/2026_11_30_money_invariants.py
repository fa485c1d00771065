"""Subscriptions keep every Stripe interval (day, week, interval_count), cancel_at as a date and
paused collection; inbox events that can never apply end as dead

Revision ID: 4f0d7c2b9a61
Revises: 9bb3ca5fdf6e
Created: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '4f0d7c2b9a61'
down_revision = '9bb3ca5fdf6e'
branch_labels = None
depends_on = None

OLD_INTERVALS = ('month', 'year')
NEW_INTERVALS = ('day', 'week', 'month', 'year')
OLD_INBOX = ('received', 'applied', 'ignored', 'failed')
NEW_INBOX = (*OLD_INBOX, 'dead')


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def _retype(table: str, column: str, name: str, old: tuple[str, ...], new: tuple[str, ...]) -> None:
    """Widen or narrow a string enum's CHECK constraint (SQLite rebuilds the table). The
    constraint is dropped by name first, so the column is altered as the plain string it is."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_{name}'), type_='check')
        batch_op.alter_column(column, existing_type=sa.String(max(map(len, old))), type_=sa.String(max(map(len, new))),
                              existing_nullable=False)
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column(column, existing_type=sa.String(max(map(len, new))), type_=_enum(new, name),
                              existing_nullable=False)


def upgrade() -> None:
    _retype('subscriptions', 'interval', 'subscription_interval', OLD_INTERVALS, NEW_INTERVALS)
    _retype('plans', 'interval', 'plan_interval', OLD_INTERVALS, NEW_INTERVALS)
    _retype('stripe_events', 'status', 'inbox_status', OLD_INBOX, NEW_INBOX)
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interval_count', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('cancel_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('pause_behavior', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('pause_resumes_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('pause_resumes_at')
        batch_op.drop_column('pause_behavior')
        batch_op.drop_column('cancel_at')
        batch_op.drop_column('interval_count')
    # Rows that only the new values can hold have no place in the old schema.
    op.execute("UPDATE stripe_events SET status = 'failed' WHERE status = 'dead'")
    _retype('stripe_events', 'status', 'inbox_status', NEW_INBOX, OLD_INBOX)
    _retype('plans', 'interval', 'plan_interval', NEW_INTERVALS, OLD_INTERVALS)
    op.execute("UPDATE subscriptions SET interval = 'month' WHERE interval IN ('day', 'week')")
    _retype('subscriptions', 'interval', 'subscription_interval', NEW_INTERVALS, OLD_INTERVALS)
