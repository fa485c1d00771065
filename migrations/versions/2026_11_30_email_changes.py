"""Email changes asked for by staff wait for the new address to confirm (email_changes), and the
timeline can say that staff emailed a sign-in link or changed an email (member_activity.kind)

Revision ID: 7c1e2f0a9b34
Revises: f3db4b31ea3d
Created: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '7c1e2f0a9b34'
down_revision = 'f3db4b31ea3d'
branch_labels = None
depends_on = None

OLD_KINDS = ('status_changed', 'joined', 'comp_granted', 'comp_ended', 'billing_synced', 'flagged', 'note')
NEW_KINDS = (*OLD_KINDS, 'signin_sent', 'email_changed')


def _retype_kind(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    """Widen or narrow the kind's CHECK constraint (SQLite rebuilds the table). The constraint is
    dropped by name first, so the column is altered as the plain string it is."""
    with op.batch_alter_table('member_activity', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_member_activity_activity_kind'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(max(map(len, old))),
                              type_=sa.String(max(map(len, new))), existing_nullable=False)
    with op.batch_alter_table('member_activity', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(max(map(len, new))),
                              type_=sa.Enum(*new, name='activity_kind', native_enum=False, create_constraint=True),
                              existing_nullable=False)


def upgrade() -> None:
    op.create_table('email_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('new_email', sa.String(length=320), nullable=False),
    sa.Column('requested_by_staff_user_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_by_staff_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_email_changes_member_id_members'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_staff_user_id'], ['staff_users.id'],
                            name=op.f('fk_email_changes_requested_by_staff_user_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cancelled_by_staff_user_id'], ['staff_users.id'],
                            name=op.f('fk_email_changes_cancelled_by_staff_user_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_changes'))
    )
    with op.batch_alter_table('email_changes', schema=None) as batch_op:
        batch_op.create_index('ix_email_changes_member_created', ['member_id', 'created_at'], unique=False)
    _retype_kind(OLD_KINDS, NEW_KINDS)


def downgrade() -> None:
    # Lines that only the new kinds can hold become notes, which the old schema has.
    op.execute("UPDATE member_activity SET kind = 'note' WHERE kind IN ('signin_sent', 'email_changed')")
    _retype_kind(NEW_KINDS, OLD_KINDS)
    with op.batch_alter_table('email_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_email_changes_member_created')
    op.drop_table('email_changes')
