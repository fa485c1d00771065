"""Partial indexes for the worker's claims: the inbox events still to apply, and the pending outbox
rows (by id, and by key and id for the "one key's rows leave in order" check), so a claim costs
its batch, not the size of the tables or of the backlog; and the delivered outbox rows by
delivered_at, for retention. Both tables are queues: on PostgreSQL autovacuum visits them after
1 % of their rows changed (not the default 20 %), so the dead entries an applied event leaves in
the indexes go soon.

On PostgreSQL the indexes are built CONCURRENTLY, outside the migration's transaction: webhooks
keep being stored (and the outbox written) while a large stripe_events table is indexed.

Revision ID: bb8f701fd808
Revises: 08354920df02
Created: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'bb8f701fd808'
down_revision = '08354920df02'
branch_labels = None
depends_on = None

WAITING = "status IN ('received', 'failed')"
PENDING = "status = 'pending'"
DELIVERED = "status = 'delivered'"
INDEXES = (
    ('ix_stripe_events_waiting', 'stripe_events', ['id'], WAITING),
    ('ix_outbox_pending', 'outbox', ['id'], PENDING),
    ('ix_outbox_pending_key', 'outbox', ['key', 'id'], PENDING),
    ('ix_outbox_delivered', 'outbox', ['delivered_at'], DELIVERED),
)
QUEUES = ('stripe_events', 'outbox')
AUTOVACUUM = ('autovacuum_vacuum_scale_factor', 'autovacuum_analyze_scale_factor')


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgres():
        for name, table, columns, where in INDEXES:
            op.create_index(name, table, columns, unique=False, sqlite_where=sa.text(where))
        return
    with op.get_context().autocommit_block():
        for name, table, columns, where in INDEXES:
            op.create_index(name, table, columns, unique=False, postgresql_where=sa.text(where),
                            postgresql_concurrently=True)
    for table in QUEUES:
        op.execute(f"ALTER TABLE {table} SET ({', '.join(f'{option} = 0.01' for option in AUTOVACUUM)})")


def downgrade() -> None:
    if _postgres():
        for table in QUEUES:
            op.execute(f"ALTER TABLE {table} RESET ({', '.join(AUTOVACUUM)})")
    for name, table, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=table)
