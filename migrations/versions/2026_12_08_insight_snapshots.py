"""The last result of the dashboard's long figures (service/domain/insight/snapshots.py).

Revision ID: a4c6e8f0b2d1
Revises: 9b2d4f6a8c10
Created: 2026-12-08
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'a4c6e8f0b2d1'
down_revision = '9b2d4f6a8c10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new table only: nothing existing is rewritten, on PostgreSQL or SQLite.
    op.create_table('insight_snapshots',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('took_ms', sa.Integer(), nullable=False),
    sa.Column('parts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_insight_snapshots'))
    )


def downgrade() -> None:
    op.drop_table('insight_snapshots')
