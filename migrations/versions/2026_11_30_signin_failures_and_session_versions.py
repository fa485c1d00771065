"""Wrong sign-in codes counted per address across tokens (signin_failures), a signed-in code
spends its link (signin_tokens.code_used_at), and reader sessions that can be ended
(members.session_version)

Revision ID: f3db4b31ea3d
Revises: 4f0d7c2b9a61
Created: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'f3db4b31ea3d'
down_revision = '4f0d7c2b9a61'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signin_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email_digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signin_failures'))
    )
    with op.batch_alter_table('signin_failures', schema=None) as batch_op:
        batch_op.create_index('ix_signin_failures_digest_created', ['email_digest', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_signin_failures_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('signin_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_used_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('session_version')
    with op.batch_alter_table('signin_tokens', schema=None) as batch_op:
        batch_op.drop_column('code_used_at')
    with op.batch_alter_table('signin_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signin_failures_created_at'))
        batch_op.drop_index('ix_signin_failures_digest_created')
    op.drop_table('signin_failures')
