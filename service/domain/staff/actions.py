"""What support and admin staff do to one member, each step audited with before and after.

Billing changes go through the gateway first and then write back what Stripe
returned (`billing.sync_subscription`), so the store never claims a change
Stripe did not make. Every function locks the member and flushes; the request commits.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from service.domain.billing.schedules import release_schedule_of
from service.domain.billing.sync import Cause, sync_subscription
from service.domain.integrations import webhooks
from service.domain.members import email_change
from service.domain.members.access import ENDED, GRANTING, live_subscriptions
from service.domain.members.comps import locked_member
from service.domain.members.signin import send_signin_email
from service.domain.staff import audit
from service.errors import Forbidden, ValidationFailed
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import (
    ActivityKind,
    BillingIssue,
    EmailChange,
    Invoice,
    IssueKind,
    Member,
    MemberActivity,
    Role,
    StaffUser,
    Subscription,
    normalize_email,
)

logger = logging.getLogger(__name__)
MAX_NOTE = 4000


def _audit_key(action: str, member: Member, now: datetime) -> str:
    """An idempotency key for a Stripe call made by one staff action."""
    return f"staff-{action}-{member.id}-{int(now.timestamp() * 1000)}"


# `cancel_subscription(..., ALL)`: every subscription Stripe could still charge.
ALL = "all"


def cancel_subscription(member_id: int, subscription_id: str, actor: StaffUser, gateway: StripeGateway,
                        now: datetime, *, at_period_end: bool) -> Member:
    """Cancel one of the member's subscriptions in Stripe, at the period's end or now; or, with
    `ALL`, every live one: paid-up ones as asked, the others (past_due, unpaid, incomplete,
    paused) now, so that cancelling at the period's end never leaves a failed payment retrying."""
    member = locked_member(member_id)
    live = live_subscriptions(member)
    if subscription_id == ALL:
        if not live:
            raise ValidationFailed("This member has no live subscription to cancel.")
        for sub in live:
            _cancel_one(member, sub, actor, gateway, now, at_period_end=at_period_end and sub.status in GRANTING)
        return member
    chosen = next((s for s in live if s.stripe_subscription_id == subscription_id), None)
    if chosen is None:
        raise ValidationFailed(f"Subscription {subscription_id} is not a live subscription of this member.")
    _cancel_one(member, chosen, actor, gateway, now, at_period_end=at_period_end)
    return member


def _cancel_one(member: Member, sub: Subscription, actor: StaffUser, gateway: StripeGateway, now: datetime, *,
                at_period_end: bool) -> None:
    subscription_id = sub.stripe_subscription_id
    before = audit.member_snapshot(member) | {"subscription": subscription_id,
                                              "cancel_at_period_end": sub.cancel_at_period_end}
    key = _audit_key(f"cancel-{sub.id}", member, now)
    if at_period_end:  # a schedule forbids setting the date; cancelling now is allowed with one
        release_schedule_of(subscription_id, gateway, key=key)
    fresh = (gateway.set_cancel_at_period_end(subscription_id, True, key=key) if at_period_end
             else gateway.cancel_subscription_now(subscription_id, key=key))
    how = "at period end" if at_period_end else "now"
    sync_subscription(member, fresh, now, cause=Cause(staff_user_id=actor.id, detail=f"cancelled {how} by staff"))
    after = audit.member_snapshot(member) | {"subscription": subscription_id,
                                             "subscription_status": fresh["status"],
                                             "cancel_at_period_end": bool(fresh.get("cancel_at_period_end"))}
    audit.record(actor, "subscription.cancel_at_period_end" if at_period_end else "subscription.cancel_now",
                 member, before, after, now)
    log_event(logger, "member.subscription_cancelled", member_id=member.id, staff_user_id=actor.id,
              subscription=subscription_id, at_period_end=at_period_end)


def cancel_and_refund_duplicate(member_id: int, subscription_id: str, actor: StaffUser, gateway: StripeGateway,
                                now: datetime) -> Member:
    """The one-click answer to a flagged duplicate subscription: cancel it now, refund every
    invoice paid on it, and note both on the flag and in the audit log.

    Only a subscription flagged as a duplicate qualifies, so the member's own (oldest)
    subscription can never be cancelled this way. Refunds cannot happen twice (see
    `StripeGateway.refund_invoice`).
    """
    member = locked_member(member_id)
    issue = db.session.scalar(select(BillingIssue).where(
        BillingIssue.member_id == member.id, BillingIssue.kind == IssueKind.DUPLICATE_SUBSCRIPTION,
        BillingIssue.stripe_object_id == subscription_id))
    sub = next((s for s in member.subscriptions if s.stripe_subscription_id == subscription_id), None)
    if issue is None or sub is None:
        raise ValidationFailed(f"Subscription {subscription_id} is not a flagged duplicate of this member.")
    before = audit.member_snapshot(member) | {"subscription": subscription_id, "subscription_status": str(sub.status)}
    if sub.status not in ENDED:
        fresh = gateway.cancel_subscription_now(subscription_id, key=f"duplicate-{issue.id}")
        sync_subscription(member, fresh, now, cause=Cause(staff_user_id=actor.id, detail="duplicate cancelled by staff"))
    paid = db.session.scalars(select(Invoice).where(Invoice.subscription_id == sub.id, Invoice.amount_paid > 0))
    refunded = [r for invoice in paid for r in gateway.refund_invoice(invoice.stripe_invoice_id)]
    total = sum(r["amount"] for r in refunded)
    issue.detail = f"{issue.detail}; cancelled and {total} refunded by staff".lstrip("; ")
    after = audit.member_snapshot(member) | {"subscription": subscription_id, "subscription_status": str(sub.status),
                                             "refunded": total, "refunds": [r["id"] for r in refunded]}
    audit.record(actor, "subscription.duplicate_refunded", member, before, after, now)
    log_event(logger, "member.duplicate_refunded", member_id=member.id, staff_user_id=actor.id,
              subscription=subscription_id, refunds=len(refunded))
    return member


@dataclass(frozen=True)
class Edited:
    """What `edit_member` did: `pending` is the email change waiting for the new address, if one was asked for."""

    member: Member
    renamed: bool
    pending: EmailChange | None = None
    email_changed: bool = False


def edit_member(member_id: int, actor: StaffUser, gateway: StripeGateway, now: datetime, *,
                email: str, name: str, override: bool = False) -> Edited:
    """Change a member's name here and on their Stripe customer at once; a new email waits for the
    new address to confirm (`email_change.request_change`), unless an admin asks to `override`,
    which applies it now and still tells the old address (`email_change.change_now`).

    Raises Conflict when another member has the email, Forbidden when a non-admin overrides.
    """
    member = locked_member(member_id)
    email, name = normalize_email(email), name.strip()
    if email == member.email and name == member.name:
        raise ValidationFailed("Nothing changed: the email and name are the same as before.")
    if override and not actor.role.allows(Role.ADMIN):
        raise Forbidden("Only an admin can change an email without confirmation from the new address.")
    if email != member.email:
        email_change.ensure_free(member, email)  # before anything reaches Stripe
    renamed = name != member.name
    if renamed:
        _rename(member, name, actor, gateway, now)
    if email == member.email:
        return Edited(member, renamed)
    if override:
        email_change.change_now(member, email, actor, gateway, now)
        return Edited(member, renamed, email_changed=True)
    return Edited(member, renamed, pending=email_change.request_change(member, email, actor, now))


def _rename(member: Member, name: str, actor: StaffUser, gateway: StripeGateway, now: datetime) -> None:
    before = audit.member_snapshot(member)
    member.name = name
    db.session.flush()
    if member.stripe_customer_id:
        gateway.update_customer(member.stripe_customer_id, key=_audit_key("edit", member, now), name=name)
    audit.record(actor, "member.edited", member, before, audit.member_snapshot(member), now)
    webhooks.publish("member.updated", {"member": member, "previous": {"name": before["name"]}}, now=now)
    log_event(logger, "member.edited", member_id=member.id, staff_user_id=actor.id)


def add_note(member_id: int, actor: StaffUser, text: str, now: datetime) -> MemberActivity:
    """A staff note on the member's timeline."""
    text = text.strip()
    if not text or len(text) > MAX_NOTE:
        raise ValidationFailed(f"A note needs between 1 and {MAX_NOTE} characters.", fields={"text": ["Length."]})
    member = locked_member(member_id)
    note = MemberActivity(member_id=member.id, kind=ActivityKind.NOTE, staff_user_id=actor.id, detail=text,
                          created_at=now)
    db.session.add(note)
    db.session.flush()
    audit.record(actor, "member.note_added", member, None, {"note_id": note.id}, now)
    return note


def resend_signin_link(member_id: int, actor: StaffUser, now: datetime) -> Member:
    """Email the member a fresh sign-in link (domain/signin.py issues and queues it), saying staff
    sent it, with a line on their timeline."""
    member = locked_member(member_id)
    send_signin_email(member, now, by_staff=True)  # the email tells the reader staff sent it
    db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.SIGNIN_SENT, staff_user_id=actor.id,
                                  detail="sign-in link emailed by staff at the member's request", created_at=now))
    db.session.flush()
    audit.record(actor, "member.signin_link_sent", member, None, None, now)
    log_event(logger, "member.signin_link_sent", member_id=member.id, staff_user_id=actor.id)
    return member


