"""A signed-in reader's own account: status in plain words, billing, cancelling and undoing.

Every function takes the signed-in member; none accepts another member's id,
so a reader can only ever act on their own membership and Stripe customer.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import select

from service.domain.billing.schedules import release_schedule_of
from service.domain.billing.sync import Cause, sync_subscription
from service.domain.members.access import GRANTING, LIVE, access_until, ends_at, has_access, primary_subscription
from service.domain.members.status import lock_member
from service.errors import Conflict
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.i18n import N_, format_day, stripe_locale
from service.logs import log_event
from service.models import (
    ActivityKind,
    Invoice,
    InvoiceStatus,
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
    """A date as the page's or email's language writes it: '3 January 2027', '3 janvier 2027'."""
    return format_day(value) if value is not None else ""


def status_of(member: Member, now: datetime) -> Status:
    """The status in plain words, from `has_access` and the deciding subscription."""
    sub = primary_subscription(member.subscriptions)
    if member.status is MemberStatus.COMPED and has_access(member, now):
        until = access_until(member)
        return Status(gettext("Complimentary membership until %(day)s", day=day(until)) if until
                      else gettext("Complimentary membership"), "ok")
    can_cancel = any(will_charge_again(s) for s in member.subscriptions)
    if member.status is MemberStatus.PAST_DUE:
        return Status(gettext("Payment failed: update your card"), "warning", can_cancel=can_cancel)
    if member.status is MemberStatus.ACTIVE and sub is not None and has_access(member, now):
        end = ends_at(sub)
        if end is not None:
            return Status(gettext("Member until %(day)s (cancelled)", day=day(end)), "warning", can_cancel=can_cancel,
                          can_undo=True)
        if sub.pause_behavior is not None:
            paused = (gettext("Member; payments paused until %(day)s", day=day(sub.pause_resumes_at)) if sub.pause_resumes_at
                      else gettext("Member; payments paused"))
            return Status(paused, "ok", can_cancel=can_cancel)
        return Status(gettext("Member, renews on %(day)s", day=day(sub.current_period_end)), "ok", can_cancel=can_cancel)
    if sub is not None and sub.status in (SubscriptionStatus.UNPAID, SubscriptionStatus.PAUSED):
        # Stripe holds the subscription and may still charge it once the card works.
        return Status(gettext("Payment needed: update your card to restart your membership"), "warning", can_cancel=can_cancel)
    ended = _ended_at(member, sub)
    if ended is not None:
        return Status(gettext("Membership ended on %(day)s", day=day(ended)), "ended")
    return Status(gettext("Not a member yet: your first payment has not gone through"), "ended")


def _ended_at(member: Member, sub: Subscription | None) -> datetime | None:
    # A subscription whose first payment never arrived ended nothing: there was no membership.
    if sub is not None and sub.status not in (SubscriptionStatus.INCOMPLETE, SubscriptionStatus.INCOMPLETE_EXPIRED):
        return sub.ended_at or sub.canceled_at or sub.current_period_end
    if member.comp_until is not None:
        return member.comp_until
    return None


# An invoice's status as the account page's list of invoices says it (Stripe's statuses).
INVOICE_STATUSES = {
    # TRANSLATORS: an invoice's status: not finished yet.
    InvoiceStatus.DRAFT: N_("draft"),
    # TRANSLATORS: an invoice's status: sent, awaiting payment.
    InvoiceStatus.OPEN: N_("open"),
    # TRANSLATORS: an invoice's status.
    InvoiceStatus.PAID: N_("paid"),
    # TRANSLATORS: an invoice's status: payment given up on.
    InvoiceStatus.UNCOLLECTIBLE: N_("uncollectible"),
    # TRANSLATORS: an invoice's status: cancelled, nothing is owed.
    InvoiceStatus.VOID: N_("void"),
}


def invoice_status(invoice: Invoice) -> str:
    """The invoice's status in the page's language: "paid", "payée"."""
    status = INVOICE_STATUSES.get(invoice.status)
    return gettext(status) if status else str(invoice.status)


def invoices(member: Member) -> list[Invoice]:
    """The member's invoices, newest first (as mirrored from Stripe by the webhooks)."""
    return list(db.session.scalars(
        select(Invoice).where(Invoice.member_id == member.id).order_by(Invoice.stripe_created_at.desc())))


def portal_url(member: Member, gateway: StripeGateway, return_url: str, now: datetime, *,
               language: str | None = None) -> str:
    """A billing portal session for this member's own customer, shown in `language` (by default the
    member's own). Conflict when they have none."""
    if not member.stripe_customer_id:
        raise Conflict(gettext("There is no billing to manage yet: you haven't paid for a membership."), code="no_billing")
    session = gateway.create_portal_session(customer_id=member.stripe_customer_id, return_url=return_url,
                                            key=f"member-{member.id}-{int(now.timestamp() * 1000)}",
                                            locale=stripe_locale(language or member.language))
    log_event(logger, "account.portal_opened", member_id=member.id)
    return session["url"]


def will_charge_again(sub: Subscription) -> bool:
    """Stripe may still charge this subscription: it is live and not set to end with the
    period it has paid for (a `cancel_at` date after the period end still renews first)."""
    if sub.status not in LIVE or sub.cancel_at_period_end:
        return False
    return not (sub.cancel_at is not None and sub.current_period_end is not None
                and sub.cancel_at <= sub.current_period_end)


@dataclass(frozen=True)
class CancelPlan:
    """What cancelling will do, so the page can say exactly what will and won't be charged."""

    at_period_end: list[Subscription]  # paid up: access runs to the period end, no renewal
    stop_now: list[Subscription]  # failed, unfinished or paused payments: ended now, never retried
    access_until: datetime | None


def cancel_plan(member: Member, now: datetime) -> CancelPlan:
    charging = [s for s in member.subscriptions if will_charge_again(s)]
    paid = [s for s in charging if s.status in GRANTING]
    ends = [s.current_period_end for s in paid if s.current_period_end is not None]
    return CancelPlan(paid, [s for s in charging if s.status not in GRANTING],
                      max(ends, default=None) if has_access(member, now) else None)


def cancel_membership(member: Member, gateway: StripeGateway, now: datetime) -> CancelPlan:
    """End every subscription Stripe could still charge: paid-up ones at their period end, the
    others (past_due, unpaid, incomplete, paused) now, so no failed payment is retried.

    Raises Conflict when nothing would be charged again.
    """
    locked = lock_member(member.id)
    assert locked is not None
    plan = cancel_plan(locked, now)
    if not plan.at_period_end and not plan.stop_now:
        raise Conflict(gettext("There is no membership to cancel."), code="nothing_to_change")
    note = _note(locked, "member cancelled from their account", now)
    for sub in plan.at_period_end:
        release_schedule_of(sub.stripe_subscription_id, gateway, key=f"activity-{note.id}-{sub.id}")
        fresh = gateway.set_cancel_at_period_end(sub.stripe_subscription_id, True, key=f"activity-{note.id}-{sub.id}")
        sync_subscription(locked, fresh, now, cause=Cause(detail=note.detail))
    for sub in plan.stop_now:
        fresh = gateway.cancel_subscription_now(sub.stripe_subscription_id, key=f"activity-{note.id}-{sub.id}")
        sync_subscription(locked, fresh, now, cause=Cause(detail=note.detail))
    log_event(logger, "account.cancelled", member_id=locked.id, at_period_end=len(plan.at_period_end),
              stopped_now=len(plan.stop_now))
    return plan


def undo_cancel(member: Member, gateway: StripeGateway, now: datetime) -> Subscription:
    """Let the cancelled, still running subscription renew again. Raises Conflict when there is
    nothing to undo (no access left, or nothing set to end)."""
    locked = lock_member(member.id)
    assert locked is not None
    sub = primary_subscription(locked.subscriptions)
    if sub is None or not status_of(locked, now).can_undo:
        raise Conflict(gettext("This membership can no longer be restarted from here; please join again."),
                       code="nothing_to_change")
    note = _note(locked, "member undid their cancellation", now)
    key = f"activity-{note.id}-{sub.id}"
    release_schedule_of(sub.stripe_subscription_id, gateway, key=key)
    fresh = (gateway.set_cancel_at_period_end(sub.stripe_subscription_id, False, key=key) if sub.cancel_at_period_end
             else gateway.clear_cancel_at(sub.stripe_subscription_id, key=key))
    row = sync_subscription(locked, fresh, now, cause=Cause(detail=note.detail))
    log_event(logger, "account.cancel_undone", member_id=locked.id, stripe_subscription_id=sub.stripe_subscription_id)
    return row


def _note(member: Member, detail: str, now: datetime) -> MemberActivity:
    """The activity row is the audit line, and its id makes the Stripe idempotency keys ours."""
    note = MemberActivity(member_id=member.id, kind=ActivityKind.NOTE, created_at=now, detail=detail)
    db.session.add(note)
    db.session.flush()
    return note
