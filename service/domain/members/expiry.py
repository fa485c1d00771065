"""Access that ends by time alone, with no Stripe event to say so: comps and terms that run
out, past_due beyond the grace period, cancelled periods that are over; and the reminder
before a term membership ends."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from service.domain import emails
from service.domain.members.access import GRANTING, grace_period
from service.domain.members.status import refresh_status
from service.domain.members.terms import terms_ending_soon
from service.domain.newsletter.lists import MEMBERS_LIST, get_list
from service.domain.newsletter.subscriptions import follow_access
from service.extensions import db
from service.models import Gift, GiftRedemption, ListStatus, ListSubscription, Member, MemberStatus, Subscription


def expire_ended_access(now: datetime, *, batch: int = 200) -> int:
    """Act on access that ended by time alone, with no event to say so.

    Looks only where that can happen (indexed by status), never at every member:
    a comp past its end (the status is recomputed, so it reads lapsed), past_due
    beyond the grace period, and a cancelled subscription whose period is over
    (its status waits for Stripe's own event). Members still on the digest without
    access are lapsed from it. Returns how many list subscriptions changed. Flushes; the worker's
    job commits.
    """
    changed = 0
    for member in _access_ended_by_time(now, batch):
        if member.status is MemberStatus.COMPED:
            # No Stripe event ends a comp: recompute the status; set_status lets the digest follow.
            changed += refresh_status(member, now, detail="comp ended")
        elif member.status is MemberStatus.ACTIVE and member.term_until is not None and member.term_until <= now \
                and refresh_status(member, now, detail="term ended"):
            changed += 1
            if member.status is MemberStatus.LAPSED:
                emails.queue_membership_ended(member, member.term_until)
        elif follow_access(member, now) is not None:
            changed += 1
    return changed


def gift_giver(member: Member) -> str | None:
    """Who gave the member their running term, when it was a gift membership they redeemed."""
    return db.session.scalar(select(Gift.purchaser_name).where(
        Gift.recipient_id == member.id, Gift.redeemed_as == GiftRedemption.TERM).order_by(Gift.redeemed_at.desc()).limit(1))


def remind_terms_ending(now: datetime, *, batch: int = 200) -> int:
    """Email members whose term membership ends soon the ways to carry on; once per term end."""
    members = terms_ending_soon(now, batch=batch)
    for member in members:
        emails.queue_term_reminder(member, gift_from=gift_giver(member))
        member.term_reminded_at = now
    db.session.flush()
    return len(members)


def _access_ended_by_time(now: datetime, batch: int) -> list[Member]:
    newsletter = get_list(MEMBERS_LIST)
    on_digest = select(ListSubscription.member_id).where(
        ListSubscription.newsletter_id == newsletter.id, ListSubscription.status == ListStatus.SUBSCRIBED)
    period_over = select(Subscription.member_id).where(
        (Subscription.cancel_at <= now) | (Subscription.cancel_at_period_end & (Subscription.current_period_end <= now)))
    granting = select(Subscription.member_id).where(Subscription.status.in_(GRANTING))
    term_over = (Member.status == MemberStatus.ACTIVE) & (Member.term_until <= now) & Member.id.not_in(granting)
    ended = or_(
        (Member.status == MemberStatus.COMPED) & (Member.comp_until <= now),
        term_over,
        (Member.status == MemberStatus.PAST_DUE) & (Member.status_changed_at <= now - grace_period()),
        (Member.status == MemberStatus.ACTIVE) & Member.id.in_(period_over),
    )
    query = (select(Member).where(ended, Member.id.in_(on_digest) | (Member.status == MemberStatus.COMPED) | term_over)
             .order_by(Member.id).limit(batch).with_for_update().execution_options(populate_existing=True))
    return list(db.session.scalars(query))
