"""API tokens get a scope: read (the default) or write

Revision ID: 521747a83b4c
Revises: 3c51a7e2d9f4
Created: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '521747a83b4c'
down_revision = '3c51a7e2d9f4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.Enum('read', 'write', name='token_scope', native_enum=False, create_constraint=True), server_default='read', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        # SQLite rebuilds the table: the column's CHECK constraint must go first.
        batch_op.drop_constraint(op.f('ck_api_tokens_token_scope'), type_='check')
        batch_op.drop_column('scope')
