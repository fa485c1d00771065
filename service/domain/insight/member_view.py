"""Everything the member page shows, read in a handful of indexed queries.

`explain` turns status and access into the plain words staff read first.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from service.domain.insight.contributions import ContributionFilter, Totals, history, totals
from service.domain.members.access import access_until, has_access, primary_subscription
from service.errors import NotFound
from service.extensions import db
from service.models import (
    ActivityKind,
    BillingIssue,
    ConsentRecord,
    Contribution,
    Invoice,
    ListSubscription,
    Member,
    MemberActivity,
    MemberStatus,
    StaffUser,
    StripeEvent,
)

TIMELINE_LIMIT = 200
EVENTS_LIMIT = 100

_WORDS = {
    MemberStatus.PENDING: "Joined but has not completed a payment.",
    MemberStatus.ACTIVE: "Paying member.",
    MemberStatus.PAST_DUE: "A renewal payment failed; Stripe is retrying.",
    MemberStatus.LAPSED: "Membership has ended.",
    MemberStatus.COMPED: "Complimentary membership granted by staff.",
}


@dataclass
class MemberPage:
    member: Member
    summary: str
    has_access: bool
    access_until: datetime | None
    timeline: list[MemberActivity]
    notes: list[MemberActivity]
    staff_names: dict[int, str]
    invoices: list[Invoice]
    issues: list[BillingIssue]
    lists: list[ListSubscription]
    consents: list[ConsentRecord]
    events: list[StripeEvent]
    contributions: list[Contribution]  # newest first, up to contributions.HISTORY_LIMIT
    giving_totals: dict[str, Totals]  # per currency, over every contribution


def explain(member: Member, now: datetime) -> tuple[str, bool, datetime | None]:
    """Plain words for the status, whether the member has access now, and until when."""
    access, until = has_access(member, now), access_until(member)
    words = _WORDS[member.status]
    sub = primary_subscription(member.subscriptions)
    if member.status is MemberStatus.ACTIVE and sub is not None and sub.cancel_at_period_end:
        words = "Paying member; the subscription is set to end at the close of the paid period."
    elif member.status is MemberStatus.ACTIVE and sub is not None and sub.cancel_at is not None:
        words = (f"Paying member; Stripe cancels the subscription on {sub.cancel_at:%Y-%m-%d} "
                 "and charges any renewal before then.")
    if member.status is MemberStatus.ACTIVE and sub is not None and sub.pause_behavior is not None:
        resumes = f" until {sub.pause_resumes_at:%Y-%m-%d}" if sub.pause_resumes_at else ""
        words += f" Payments are paused{resumes}; access continues."
    if access:
        words += f" Has access{' until ' + format(until, '%Y-%m-%d %H:%M UTC') if until else ''}."
    else:
        words += " No access to members-only content."
    return words, access, until


def load(member_id: int, now: datetime) -> MemberPage:
    member = db.session.get(Member, member_id)
    if member is None:
        raise NotFound(f"No member with id {member_id}.")
    activity = list(db.session.scalars(
        select(MemberActivity).where(MemberActivity.member_id == member.id)
        .order_by(MemberActivity.created_at.desc(), MemberActivity.id.desc()).limit(TIMELINE_LIMIT)))
    summary, access, until = explain(member, now)
    return MemberPage(
        member=member, summary=summary, has_access=access, access_until=until,
        timeline=[a for a in activity if a.kind is not ActivityKind.NOTE],
        notes=[a for a in activity if a.kind is ActivityKind.NOTE],
        staff_names=_staff_names({a.staff_user_id for a in activity if a.staff_user_id}),
        invoices=list(db.session.scalars(select(Invoice).where(Invoice.member_id == member.id)
                                         .order_by(Invoice.stripe_created_at.desc()).limit(50))),
        issues=list(db.session.scalars(select(BillingIssue).where(BillingIssue.member_id == member.id)
                                       .order_by(BillingIssue.created_at.desc()))),
        lists=list(member.list_subscriptions),
        consents=list(db.session.scalars(select(ConsentRecord).where(ConsentRecord.member_id == member.id)
                                         .order_by(ConsentRecord.created_at.desc()).limit(100))),
        events=list(db.session.scalars(select(StripeEvent).where(StripeEvent.member_id == member.id)
                                       .order_by(StripeEvent.received_at.desc()).limit(EVENTS_LIMIT))),
        contributions=history(member.id), giving_totals=totals(ContributionFilter(member_id=member.id)),
    )


def _staff_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(select(StaffUser.id, StaffUser.name, StaffUser.email).where(StaffUser.id.in_(ids)))
    return {row.id: row.name or row.email for row in rows}
