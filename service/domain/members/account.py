"""A signed-in reader's own account: status in plain words, billing, cancelling and undoing.

Every function takes the signed-in member; none accepts another member's id,
so a reader can only ever act on their own membership and Stripe customer.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from service.domain.billing.sync import Cause, sync_subscription
from service.domain.members.access import access_until, has_access, primary_subscription
from service.domain.members.status import lock_member
from service.errors import Conflict
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import (
    ActivityKind,
    Invoice,
    Member,
    MemberActivity,
    MemberStatus,
    Subscription,
    SubscriptionStatus,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Status:
    """What the account page says about a membership, and what it offers."""

    text: str
    tone: str  # "ok", "warning" or "ended": how the page colours it
    can_cancel: bool = False
    can_undo: bool = False


def day(value: datetime | None) -> str:
    """'3 January 2027': a date as readers write it."""
    return f"{value.day} {value:%B %Y}" if value is not None else ""


def status_of(member: Member, now: datetime) -> Status:
    """The status in plain words, from `has_access` and the deciding subscription."""
    sub = primary_subscription(member.subscriptions)
    if member.status is MemberStatus.COMPED and has_access(member, now):
        until = access_until(member)
        return Status(f"Complimentary membership until {day(until)}" if until else "Complimentary membership", "ok")
    if member.status is MemberStatus.PAST_DUE:
        return Status("Payment failed: update your card", "warning")
    if member.status is MemberStatus.ACTIVE and sub is not None and has_access(member, now):
        if sub.cancel_at_period_end:
            return Status(f"Member until {day(sub.current_period_end)} (cancelled)", "warning", can_undo=True)
        return Status(f"Member, renews on {day(sub.current_period_end)}", "ok", can_cancel=True)
    ended = _ended_at(member, sub)
    if ended is not None:
        return Status(f"Membership ended on {day(ended)}", "ended")
    return Status("Not a member yet: your first payment has not gone through", "ended")


def _ended_at(member: Member, sub: Subscription | None) -> datetime | None:
    if sub is not None and sub.status is not SubscriptionStatus.INCOMPLETE:
        return sub.ended_at or sub.canceled_at or sub.current_period_end
    if member.comp_until is not None:
        return member.comp_until
    return None


def invoices(member: Member) -> list[Invoice]:
    """The member's invoices, newest first (as mirrored from Stripe by the webhooks)."""
    return list(db.session.scalars(
        select(Invoice).where(Invoice.member_id == member.id).order_by(Invoice.stripe_created_at.desc())))


def portal_url(member: Member, gateway: StripeGateway, return_url: str, now: datetime) -> str:
    """A billing portal session for this member's own customer. Conflict when they have none."""
    if not member.stripe_customer_id:
        raise Conflict("There is no billing to manage yet: you haven't paid for a membership.", code="no_billing")
    session = gateway.create_portal_session(customer_id=member.stripe_customer_id, return_url=return_url,
                                            key=f"member-{member.id}-{int(now.timestamp() * 1000)}")
    log_event(logger, "account.portal_opened", member_id=member.id)
    return session["url"]


def set_cancelled(member: Member, cancel: bool, gateway: StripeGateway, now: datetime) -> Subscription:
    """Cancel at the end of the paid period (True) or undo that (False), then mirror what Stripe says.

    Raises Conflict when there is nothing to cancel, or nothing to undo (the period has ended).
    """
    locked = lock_member(member.id)
    assert locked is not None
    status = status_of(locked, now)
    sub = primary_subscription(locked.subscriptions)
    if sub is None or not (status.can_cancel if cancel else status.can_undo):
        raise Conflict("There is no membership to cancel." if cancel else
                       "This membership can no longer be restarted from here; please join again.",
                       code="nothing_to_change")
    # The activity row is the audit line, and its id makes the Stripe idempotency key ours.
    note = MemberActivity(member_id=locked.id, kind=ActivityKind.NOTE, created_at=now,
                          detail="member cancelled from their account" if cancel else "member undid their cancellation")
    db.session.add(note)
    db.session.flush()
    updated = gateway.set_cancel_at_period_end(sub.stripe_subscription_id, cancel,
                                               key=f"activity-{note.id}-{int(now.timestamp())}")
    row = sync_subscription(locked, updated, now, cause=Cause(detail=note.detail))
    log_event(logger, "account.cancel_changed", member_id=locked.id, cancel=cancel,
              stripe_subscription_id=sub.stripe_subscription_id)
    return row
