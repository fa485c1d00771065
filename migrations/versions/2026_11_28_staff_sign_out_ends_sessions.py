"""Staff sign-out ends every earlier session: staff_users.signed_out_at

Revision ID: 9bb3ca5fdf6e
Revises: 521747a83b4c
Created: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '9bb3ca5fdf6e'
down_revision = '521747a83b4c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signed_out_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('signed_out_at')

