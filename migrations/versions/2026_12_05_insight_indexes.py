"""Partial indexes for the staff insight figures (service/domain/insight/, bench/insight.py):

- member_activity's status changes by member and time (with the status, so the index alone answers):
  the retention cohorts read each activated member's status timeline in order through it, not
  the member's whole timeline (a line per contribution, note, sync...).
- invoices whose first payment attempt failed, by creation time: the recovery figure reads a
  year of them without visiting the paid-at-first-attempt rest.

On PostgreSQL the indexes are built CONCURRENTLY, outside the migration's transaction, so webhooks
keep writing timelines and invoices while large tables are indexed.

Revision ID: 5d1c7e9a2b84
Revises: c4e8d2a61f37
Created: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '5d1c7e9a2b84'
down_revision = 'c4e8d2a61f37'
branch_labels = None
depends_on = None

STATUS_CHANGES = "to_status IS NOT NULL"
FIRST_ATTEMPT_FAILED = ("(status = 'paid' AND attempt_count >= 2) OR "
                        "(status IN ('open', 'uncollectible', 'void') AND attempt_count >= 1)")
INDEXES = (
    ('ix_member_activity_status_changes', 'member_activity', ['member_id', 'created_at', 'id', 'to_status'],
     STATUS_CHANGES),
    ('ix_invoices_first_attempt_failed', 'invoices', ['stripe_created_at'], FIRST_ATTEMPT_FAILED),
)


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


def downgrade() -> None:
    for name, table, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=table)
