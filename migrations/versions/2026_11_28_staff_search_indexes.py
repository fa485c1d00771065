"""Indexes for staff search and the dashboard: email prefix, plan, lapses per week; trigram indexes on PostgreSQL

Revision ID: 3c51a7e2d9f4
Revises: 9266a583b3e1
Created: 2026-11-28
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '3c51a7e2d9f4'
down_revision = '9266a583b3e1'
branch_labels = None
depends_on = None


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _extension_schema(name: str) -> str:
    schema = op.get_bind().scalar(sa.text(
        "SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = :name"), {"name": name})
    return str(schema)


def upgrade() -> None:
    with op.batch_alter_table('member_activity', schema=None) as batch_op:
        batch_op.create_index('ix_member_activity_to_status_created', ['to_status', 'created_at'], unique=False)
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_subscriptions_plan_member', ['plan_id', 'member_id'], unique=False)
    if not _postgres():
        return  # SQLite has no operator classes or trigram indexes; its LIKE scans are fine at its scale
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # The extension may live in another schema than ours (it is installed once per database),
    # so name its operator class with that schema rather than rely on search_path.
    trgm = _extension_schema("pg_trgm") + ".gin_trgm_ops"
    op.create_index('ix_members_email_pattern', 'members', ['email'], unique=False,
                    postgresql_ops={'email': 'text_pattern_ops'})
    op.create_index('ix_members_email_trgm', 'members', ['email'], unique=False, postgresql_using='gin',
                    postgresql_ops={'email': trgm})
    op.create_index('ix_members_name_trgm', 'members', ['name'], unique=False, postgresql_using='gin',
                    postgresql_ops={'name': trgm})


def downgrade() -> None:
    if _postgres():
        op.drop_index('ix_members_name_trgm', table_name='members')
        op.drop_index('ix_members_email_trgm', table_name='members')
        op.drop_index('ix_members_email_pattern', table_name='members')
        # pg_trgm stays: other objects in the database may use it.
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriptions_plan_member')
    with op.batch_alter_table('member_activity', schema=None) as batch_op:
        batch_op.drop_index('ix_member_activity_to_status_created')
