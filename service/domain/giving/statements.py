"""Annual giving statements: one per donor and fiscal year, each contribution listed, net of refunds.

A fiscal year is named by the year it ends in (as "FY2026" usually is): with
FISCAL_YEAR_START_MONTH=7, fiscal year 2026 runs from 1 July 2025 up to, not including,
1 July 2026; with the default 1 it is the calendar year. Boundaries are midnight UTC, the
clock `Contribution.paid_at` is kept in.

A statement lists every contribution paid in the year (date, receipt number, kind, amount,
refunded, disputed, net) and the totals per currency net of refunds and disputes; a donor
whose gifts were all refunded still gets one, showing the refund. The `Statement` row
remembers what was built and when it was sent: `built_at` moves only when the contents
change (a late refund), which also makes it unsent again, so re-running a build never mails
the same statement twice and a corrected one goes out once. PDFs are rendered when needed
(`statement_pdf.render`), never stored. Everything here flushes; the caller commits.
"""
from __future__ import annotations

import enum
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import InstrumentedAttribute

from service.domain import emails
from service.domain.giving import statement_pdf
from service.domain.members.account import day
from service.domain.members.erasure import is_erased
from service.domain.members.status import lock_member
from service.domain.staff import audit
from service.errors import NotFound, ValidationFailed
from service.extensions import db
from service.i18n import in_language
from service.logs import log_event
from service.models import Contribution, Member, StaffUser, Statement

logger = logging.getLogger(__name__)
FIRST_YEAR = 2000  # no contribution is older than the service


@dataclass(frozen=True)
class FiscalYear:
    """Fiscal year `year`: from `start` (inclusive) to `end` (exclusive), both midnight UTC."""

    year: int
    start: datetime
    end: datetime

    def covers(self, paid_at: InstrumentedAttribute[datetime]) -> ColumnElement[bool]:
        """The SQL condition "paid in this year" on a timestamp column."""
        return and_(paid_at >= self.start, paid_at < self.end)

    @property
    def period(self) -> str:
        """'1 July 2025 to 30 June 2026': the exact dates, both included, in the page's or email's language."""
        return gettext("%(start)s to %(end)s", start=day(self.start), end=day(self.end - timedelta(days=1)))


def _start_month() -> int:
    return int(current_app.config["FISCAL_YEAR_START_MONTH"])


def fiscal_year(year: int) -> FiscalYear:
    """The fiscal year ending in `year`. Raises ValidationFailed for a year the service cannot hold."""
    if not FIRST_YEAR <= year <= 9998:
        raise ValidationFailed(f"The year must be a fiscal year from {FIRST_YEAR} on, like 2026; got {year}.")
    month = _start_month()
    start = datetime(year if month == 1 else year - 1, month, 1, tzinfo=UTC)
    return FiscalYear(year, start, start.replace(year=start.year + 1))


def fiscal_year_of(when: datetime) -> int:
    """The fiscal year a moment falls in."""
    month = _start_month()
    return when.year + (1 if month > 1 and when.month >= month else 0)


def past_or_current_year(year: int, now: datetime) -> FiscalYear:
    """`fiscal_year(year)`, refusing one that has not begun (a typo, most likely)."""
    current = fiscal_year_of(now)
    if year > current:
        raise ValidationFailed(f"Fiscal year {year} has not started yet: the current fiscal year is {current} "
                               f"({fiscal_year(current).period}).")
    return fiscal_year(year)


# --- what a donor gave ---------------------------------------------------------------


@dataclass(frozen=True)
class GivingStatement:
    """One donor's statement for a year, as shown and rendered: their contributions, oldest first."""

    member: Member
    year: FiscalYear
    contributions: Sequence[Contribution]

    @property
    def totals(self) -> dict[str, int]:
        return net_totals(self.contributions)


def net_totals(contributions: Sequence[Contribution]) -> dict[str, int]:
    """Per currency, in minor units, net of refunds and disputes (a currency netted to 0 stays, as 0)."""
    totals: dict[str, int] = defaultdict(int)
    for c in contributions:
        totals[c.currency] += c.net_amount
    return dict(sorted(totals.items()))


def contributions_in(member_id: int, year: FiscalYear) -> list[Contribution]:
    """The member's contributions paid in the year, oldest first (ix_contributions_member_paid)."""
    return list(db.session.scalars(
        select(Contribution).where(Contribution.member_id == member_id, year.covers(Contribution.paid_at))
        .order_by(Contribution.paid_at, Contribution.id)))


def statement_for(member: Member, year: FiscalYear) -> GivingStatement | None:
    """The member's statement for the year, from the contributions as they are now; None when they gave nothing."""
    contributions = contributions_in(member.id, year)
    return GivingStatement(member, year, contributions) if contributions else None


def pdf_for(member_id: int, year: int, now: datetime) -> bytes:
    """The member's statement for fiscal year `year` as a PDF, from their contributions as they are now.
    Raises NotFound when they gave nothing that year (or it is no fiscal year at all)."""
    member = db.session.get(Member, member_id)
    try:
        found = statement_for(member, fiscal_year(year)) if member is not None else None
    except ValidationFailed:
        found = None
    if found is None:
        raise NotFound(gettext("There is no giving statement for fiscal year %(year)s: no contributions were paid in it.",
                               year=year))
    return statement_pdf.render(found, now)


def member_contributions(member_id: int) -> list[Contribution]:
    """Everything the member gave, newest first (their account page)."""
    return list(db.session.scalars(select(Contribution).where(Contribution.member_id == member_id)
                                   .order_by(Contribution.paid_at.desc(), Contribution.id.desc())))


def years_given(contributions: Sequence[Contribution]) -> list[FiscalYear]:
    """The fiscal years with a contribution among these, newest first."""
    return [fiscal_year(y) for y in sorted({fiscal_year_of(c.paid_at) for c in contributions}, reverse=True)]


# --- building and sending ----------------------------------------------------------------


class Change(enum.StrEnum):
    NEW = "new"  # no statement for this donor and year before
    CHANGED = "changed"  # contributions changed since it was built (a refund, a late payment)
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Outcome:
    member_id: int
    change: Change
    sent: bool  # emailed now (or, in a dry run, would be)


def build(member_id: int, year: FiscalYear, now: datetime, *, send: bool, actor: StaffUser | None = None,
          dry_run: bool = False) -> Outcome | None:
    """Build (upsert) one donor's statement and, with `send`, email it unless this version went out
    already. The member is locked, so a refund or another build waits. A dry run reads only and
    says what would happen. None when the member gave nothing that year."""
    member = db.session.get(Member, member_id) if dry_run else lock_member(member_id)
    found = statement_for(member, year) if member is not None else None
    if found is None:
        return None
    row = db.session.scalar(select(Statement).where(Statement.member_id == member_id, Statement.fiscal_year == year.year))
    change = _change(row, found)
    will_send = send and not is_erased(found.member) and (row is None or change is not Change.UNCHANGED or row.sent_at is None)
    if not dry_run:
        row = _record(row, found, change, now, actor)
        if will_send:
            _send(found, row, now, actor)
    return Outcome(member_id, change, will_send)


def _change(row: Statement | None, statement: GivingStatement) -> Change:
    if row is None:
        return Change.NEW
    same = row.contributions == len(statement.contributions) and row.totals == statement.totals
    return Change.UNCHANGED if same else Change.CHANGED


def _record(row: Statement | None, statement: GivingStatement, change: Change, now: datetime,
            actor: StaffUser | None) -> Statement:
    if row is None:
        row = Statement(member_id=statement.member.id, fiscal_year=statement.year.year)
        db.session.add(row)
    if change is not Change.UNCHANGED:
        row.contributions, row.totals, row.built_at, row.sent_at = len(statement.contributions), statement.totals, now, None
        row.staff_user_id = actor.id if actor else None
    db.session.flush()
    return row


def _send(statement: GivingStatement, row: Statement, now: datetime, actor: StaffUser | None) -> None:
    with in_language(statement.member.language):  # the email's language, as the PDF's
        period = statement.year.period
    emails.queue_statement(statement.member, row, statement_pdf.render(statement, row.built_at), period=period)
    row.sent_at = now
    if actor is not None:
        row.staff_user_id = actor.id
        audit.record(actor, "statement.sent", statement.member, None,
                     {"fiscal_year": row.fiscal_year, "contributions": row.contributions, "totals": row.totals}, now)
    log_event(logger, "statement.sent", member_id=row.member_id, fiscal_year=row.fiscal_year)
