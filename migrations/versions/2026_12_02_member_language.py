"""The member's language (members.language): their emails are written in it, and Stripe's
Checkout and portal are shown in it; null means English

Revision ID: 01657abfba2e
Revises: bb8f701fd808
Created: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '01657abfba2e'
down_revision = 'bb8f701fd808'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable with no default: adding it rewrites nothing, on PostgreSQL or SQLite.
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('language')
