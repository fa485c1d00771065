"""Each paid subscription invoice keeps what it does to its member's recurring revenue.

Columns on invoices (service/domain/billing/revenue.py keeps them as invoices are synced): the
months it covers [revenue_start, revenue_end) as month numbers (year * 12 + month - 1, UTC), its
amount per month, its kind against the member's invoice before it (new, reactivated, expansion,
contraction, same) with the signed change, and whether its coverage ends with nothing after it.
Two partial indexes hold the few invoices that change revenue, so the insight's movements read
them instead of re-deriving every member's months from every invoice (bench/insight.py: 15 s at
a million members before).

The upgrade fills the columns for every invoice already stored, with the same rules in SQL. On
PostgreSQL that runs after the columns are committed, in batches of members each committed on
its own, so webhooks keep writing invoices meanwhile (at a million members and 8.8 million
invoices one statement for all of them took 58 minutes on a loaded machine, holding every row);
then the indexes are built CONCURRENTLY.

Revision ID: 9b2d4f6a8c10
Revises: 7a3f9c1e4b62
Created: 2026-12-07
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '9b2d4f6a8c10'
down_revision = '7a3f9c1e4b62'
branch_labels = None
depends_on = None

BATCH = 20_000  # members per committed batch of the backfill on PostgreSQL
IN_BATCH = "AND {alias}member_id >= :low AND {alias}member_id < :high"
KINDS = ('new', 'reactivated', 'expansion', 'contraction', 'same')
INDEXES = (
    ('ix_invoices_revenue_moves', ['revenue_start', 'currency', 'revenue_kind', 'revenue_change'], 'revenue_change <> 0'),
    ('ix_invoices_revenue_ends', ['revenue_end', 'currency', 'revenue_monthly'], 'revenue_churns'),
    # Paid subscription invoices written without these columns (by the version still running while
    # this migrates): the worker's `revenue` job counts them (service/domain/billing/revenue.py).
    ('ix_invoices_revenue_uncounted', ['member_id'],
     "revenue_start IS NULL AND status = 'paid' AND amount_paid > 0 AND subscription_id IS NOT NULL"),
)
MONTH = {
    'postgresql': ("(CAST(date_part('year', i.stripe_created_at AT TIME ZONE 'UTC') AS INTEGER) * 12"
                   " + CAST(date_part('month', i.stripe_created_at AT TIME ZONE 'UTC') AS INTEGER) - 1)"),
    'sqlite': ("(CAST(strftime('%Y', i.stripe_created_at) AS INTEGER) * 12"
               " + CAST(strftime('%m', i.stripe_created_at) AS INTEGER) - 1)"),
}
SPAN = ("CASE s.interval WHEN 'month' THEN s.interval_count WHEN 'year' THEN s.interval_count * 12 ELSE 1 END")
# The amount per month, rounded half up in whole numbers: weekly and daily scaled to 365.25 / 12 days.
MONTHLY = ("(CAST(i.amount_paid AS BIGINT) * (CASE WHEN s.interval IN ('day', 'week') THEN 36525 ELSE 1 END) * 2 + {den})"
           " / ({den} * 2)")
DEN = ("(s.interval_count * CASE s.interval WHEN 'day' THEN 1200 WHEN 'week' THEN 8400 WHEN 'year' THEN 12 ELSE 1 END)")
PRICE = """
UPDATE invoices AS i SET revenue_start = {month}, revenue_end = {month} + {span}, revenue_monthly = {monthly}
FROM subscriptions AS s
WHERE s.id = i.subscription_id AND i.status = 'paid' AND i.amount_paid > 0 AND i.revenue_start IS NULL {members}
"""
SEQUENCE = """
UPDATE invoices SET revenue_kind = q.kind, revenue_change = q.change, revenue_churns = q.churns
FROM (
    SELECT c.id,
           CASE WHEN (c.prev_end IS NULL OR c.start > c.prev_end) AND c.rank = 1 THEN 'new'
                WHEN c.prev_end IS NULL OR c.start > c.prev_end THEN 'reactivated'
                WHEN c.amount > c.prev_amount THEN 'expansion'
                WHEN c.amount < c.prev_amount THEN 'contraction' ELSE 'same' END AS kind,
           CASE WHEN c.prev_end IS NULL OR c.start > c.prev_end THEN c.amount ELSE c.amount - c.prev_amount END AS change,
           (c.next_start IS NULL OR c.next_start > c.end_n) AS churns
    FROM (
        SELECT id, revenue_start AS start, revenue_end AS end_n, revenue_monthly AS amount,
               lag(revenue_end) OVER w AS prev_end, lag(revenue_monthly) OVER w AS prev_amount,
               lead(revenue_start) OVER w AS next_start,
               row_number() OVER (PARTITION BY member_id ORDER BY revenue_start, revenue_end, id) AS rank
        FROM invoices WHERE revenue_start IS NOT NULL {members}
        WINDOW w AS (PARTITION BY member_id, currency ORDER BY revenue_start, revenue_end, id)
    ) AS c
) AS q
WHERE invoices.id = q.id
"""


def _add_columns() -> None:
    with op.batch_alter_table('invoices') as batch_op:
        batch_op.add_column(sa.Column('revenue_start', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revenue_end', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revenue_monthly', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revenue_kind', sa.Enum(*KINDS, name='revenue_kind', native_enum=False,
                                                              create_constraint=True), nullable=True))
        batch_op.add_column(sa.Column('revenue_change', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revenue_churns', sa.Boolean(), server_default=sa.text('false'), nullable=False))


def upgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    # Run again after a backfill that stopped part-way (on PostgreSQL the columns are committed
    # before it): the columns are there, and the backfill resumes where it left off.
    if 'revenue_start' not in {c['name'] for c in sa.inspect(bind).get_columns('invoices')}:
        _add_columns()
    if dialect != 'postgresql':
        bind.execute(sa.text(PRICE.format(month=MONTH['sqlite'], span=SPAN, monthly=MONTHLY.format(den=DEN), members='')))
        bind.execute(sa.text(SEQUENCE.format(members='')))
        for name, columns, where in INDEXES:
            op.create_index(name, 'invoices', columns, unique=False, sqlite_where=sa.text(where))
        return
    price = sa.text(PRICE.format(month=MONTH['postgresql'], span=SPAN, monthly=MONTHLY.format(den=DEN),
                                 members=IN_BATCH.format(alias='i.')))
    sequence = sa.text(SEQUENCE.format(members=IN_BATCH.format(alias='')))
    with op.get_context().autocommit_block():
        last = bind.execute(sa.text("SELECT max(member_id) FROM invoices")).scalar() or 0
        for low in range(0, last + 1, BATCH):
            bounds = {"low": low, "high": low + BATCH}  # each statement commits as it ends
            bind.execute(price, bounds)
            bind.execute(sequence, bounds)
        for name, columns, where in INDEXES:
            op.create_index(name, 'invoices', columns, unique=False, postgresql_where=sa.text(where),
                            postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    for name, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name='invoices')
    with op.batch_alter_table('invoices') as batch_op:
        # SQLite rebuilds the table: the kind's CHECK constraint must go first.
        batch_op.drop_constraint(op.f('ck_invoices_revenue_kind'), type_='check')
        for column in ('revenue_churns', 'revenue_change', 'revenue_kind', 'revenue_monthly', 'revenue_end',
                       'revenue_start'):
            batch_op.drop_column(column)
