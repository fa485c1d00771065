"""The donors of a fiscal year, read a page at a time: who gave, how much, and whether their
statement is built, up to date and sent; and staff's "build and send all".

Every query here is bounded by the year on `paid_at` (ix_contributions_paid) or by a page
of member ids and the year (ix_contributions_member_paid), so a year of a million
contributions streams in constant memory. Everything flushes; the caller commits.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, select

from service.domain.giving.statements import FiscalYear, Outcome, build
from service.domain.outbox import PENDING_KEYS
from service.extensions import db
from service.models import Contribution, Member, StaffUser, Statement

DONOR_BATCH = 500


def donor_pages(year: FiscalYear, *, after: int = 0, batch: int = DONOR_BATCH) -> Iterator[list[int]]:
    """Ids of the members who gave in the year, in id order after `after`, `batch` at a time (keyset pages)."""
    while True:
        ids = list(db.session.scalars(
            select(Contribution.member_id).where(year.covers(Contribution.paid_at), Contribution.member_id > after)
            .group_by(Contribution.member_id).order_by(Contribution.member_id).limit(batch)))
        if ids:
            yield ids
        if len(ids) < batch:
            return
        after = ids[-1]


def donor_ids(year: FiscalYear) -> Iterator[int]:
    return (member_id for page in donor_pages(year) for member_id in page)


def count_donors(year: FiscalYear) -> int:
    return db.session.scalar(select(func.count(func.distinct(Contribution.member_id)))
                             .where(year.covers(Contribution.paid_at))) or 0


def _net() -> ColumnElement[int]:
    """A contribution's net amount in SQL, as `Contribution.net_amount` reckons it."""
    net = Contribution.amount - Contribution.refunded_amount - Contribution.disputed_amount
    return case((net > 0, net), else_=0)


def year_totals(year: FiscalYear) -> dict[str, int]:
    """What the whole year brought in per currency, net of refunds and disputes."""
    rows = db.session.execute(select(Contribution.currency, func.sum(_net())).where(year.covers(Contribution.paid_at))
                              .group_by(Contribution.currency).order_by(Contribution.currency))
    return {currency: int(total or 0) for currency, total in rows}


@dataclass
class DonorYear:
    """A donor's year at a glance: their contributions counted, net totals per currency, their statement row."""

    member_id: int
    member: Member | None = None
    contributions: int = 0
    totals: dict[str, int] = field(default_factory=dict)
    statement: Statement | None = None

    @property
    def up_to_date(self) -> bool:
        """Whether a statement was built from the contributions as they are now."""
        return (self.statement is not None and self.statement.contributions == self.contributions
                and self.statement.totals == self.totals)

    @property
    def to_send(self) -> bool:
        """No statement sent in its current version: never built, changed since, or built and not sent."""
        return not self.up_to_date or self.statement is None or self.statement.sent_at is None


def donor_years(member_ids: Sequence[int], year: FiscalYear) -> list[DonorYear]:
    """A page of donors at a glance, in id order, in three queries."""
    found = {member_id: DonorYear(member_id) for member_id in member_ids}
    rows = db.session.execute(
        select(Contribution.member_id, Contribution.currency, func.count(), func.sum(_net()))
        .where(Contribution.member_id.in_(member_ids), year.covers(Contribution.paid_at))
        .group_by(Contribution.member_id, Contribution.currency).order_by(Contribution.member_id, Contribution.currency))
    for member_id, currency, count, total in rows:
        found[member_id].contributions += count
        found[member_id].totals[currency] = int(total or 0)
    for row in db.session.scalars(select(Statement).where(Statement.member_id.in_(member_ids),
                                                          Statement.fiscal_year == year.year)):
        found[row.member_id].statement = row
    for member in db.session.scalars(select(Member).where(Member.id.in_(member_ids))):
        found[member.id].member = member
    return list(found.values())


@dataclass(frozen=True)
class YearOverview:
    """The console's page for a year: the year's figures, and one page of its donors."""

    year: FiscalYear
    donors: int
    totals: dict[str, int]
    sent: int  # statements sent in their current version or an earlier one
    page: list[DonorYear]
    next_cursor: int | None  # the member id to continue after


def overview(year: FiscalYear, *, after: int = 0, limit: int = 100) -> YearOverview:
    ids = next(donor_pages(year, after=after, batch=limit), [])
    sent = db.session.scalar(select(func.count()).select_from(Statement)
                             .where(Statement.fiscal_year == year.year, Statement.sent_at.is_not(None))) or 0
    return YearOverview(year, count_donors(year), year_totals(year), sent, donor_years(ids, year) if ids else [],
                        ids[-1] if len(ids) == limit else None)


def send_unsent(year: FiscalYear, actor: StaffUser, now: datetime, *, limit: int) -> tuple[list[Outcome], bool]:
    """Staff's "build and send all": build and send each statement not sent in its current version, at
    most `limit` of them (one request must stay short). Returns what was sent, and whether some are left.

    The emails are left to the worker rather than delivered as the request ends: a request must not
    wait on the mail server for dozens of messages."""
    sent: list[Outcome] = []
    left = False
    waiting = (donor.member_id for page in donor_pages(year) for donor in donor_years(page, year) if donor.to_send)
    for member_id in waiting:
        if len(sent) >= limit:
            left = True
            break
        outcome = build(member_id, year, now, send=True, actor=actor)
        if outcome is not None and outcome.sent:
            sent.append(outcome)
    db.session.info.pop(PENDING_KEYS, None)  # so the request's end does not deliver them inline
    return sent, left
