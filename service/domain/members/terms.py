"""Term memberships: months of access bought with a one-time gift, with no subscription.

A term runs from when it is granted to `term_until`; another gift while it runs
extends it. Its reminder goes out TERM_REMINDER_DAYS before it ends (once per
term end), and when it ends the member lapses like any other (expiry.py).
"""
from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from service.domain.members.access import LIVE, term_active
from service.extensions import db
from service.models import ActivityKind, Member, MemberActivity, MemberStatus, Subscription


def add_months(when: datetime, months: int) -> datetime:
    """The same day and time `months` later (or earlier), on the month's last day when it is shorter."""
    month_index = when.month - 1 + months
    year, month = when.year + month_index // 12, month_index % 12 + 1
    return when.replace(year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1]))


def grant_term(member: Member, months: int, now: datetime, *, detail: str, stripe_event_id: str | None = None,
               start: datetime | None = None) -> None:
    """Give (or extend) a term of `months` months, from now or from `start` when that is later (the
    end of access already paid for). The caller recomputes the status."""
    running = term_active(member, now)
    begins = max(start or now, now)
    start = max(member.term_until, begins) if running and member.term_until is not None else begins
    if not running:
        member.term_since = now
    member.term_until = add_months(start, months)
    member.term_reminded_at = None
    db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.TERM_GRANTED, stripe_event_id=stripe_event_id,
                                  detail=f"{detail}: {months} month{'s' if months != 1 else ''}, "
                                         f"until {member.term_until:%Y-%m-%d}", created_at=now))
    db.session.flush()


def shorten_term(member: Member, months: int, now: datetime, *, detail: str, stripe_event_id: str | None = None) -> None:
    """Take back `months` months of a term (its gift was refunded); never before now."""
    if member.term_until is None or member.term_until <= now:
        return
    member.term_until = max(add_months(member.term_until, -months), now)
    db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.TERM_GRANTED, stripe_event_id=stripe_event_id,
                                  detail=f"{detail}: {months} month{'s' if months != 1 else ''} taken back, "
                                         f"now until {member.term_until:%Y-%m-%d}", created_at=now))
    db.session.flush()


def terms_ending_soon(now: datetime, *, batch: int = 200) -> list[Member]:
    """Members whose term ends within TERM_REMINDER_DAYS and who were not reminded for this end
    (granting or extending a term re-arms it), and who pay no subscription, locked."""
    days = timedelta(days=current_app.config["TERM_REMINDER_DAYS"])
    paying = select(Subscription.member_id).where(Subscription.status.in_(LIVE))
    query = (select(Member)
             .where(Member.status == MemberStatus.ACTIVE, Member.term_until > now, Member.term_until <= now + days,
                    Member.term_reminded_at.is_(None),
                    Member.id.not_in(paying))
             .order_by(Member.term_until).limit(batch).with_for_update().execution_options(populate_existing=True))
    return list(db.session.scalars(query))
