"""What each Stripe event type does: a dispatch table of small handlers.

A handler treats its event as a trigger. It finds and locks the member the
object belongs to, reads the object's current state through the gateway, and
writes that. Snapshots in payloads only name the objects: the events of one
checkout share a `created` second, so their order cannot be trusted.
Handlers return the member they touched, or raise NotOurs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from service.domain import emails
from service.domain.billing import sync as billing
from service.domain.billing.sync import NotOurs, member_for, stripe_id
from service.domain.giving import contributions
from service.domain.giving.attribution import checkout_attribution, touch
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.models import ActivityKind, IssueKind, Member, MemberActivity, MemberStatus

Obj = dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    """One event being applied: its id, the object in its payload, and what we need to act.

    `fresh` holds the subscriptions read from Stripe (and stored) in this unit of work after
    this event was stored: a worker's batch is claimed once its events are in the inbox, so a
    read made while applying it already reflects every change its events announce. The
    events of one member in a batch share the set."""

    event_id: str
    obj: Obj
    gateway: StripeGateway
    now: datetime
    received_at: datetime
    fresh: set[str] = field(default_factory=set)

    @property
    def cause(self) -> billing.Cause:
        return billing.Cause(stripe_event_id=self.event_id)


def _metadata_member(obj: Obj) -> str | None:
    return (obj.get("metadata") or {}).get("member_id")


# Clocks of different hosts may disagree a little; a read counts as later only past this margin.
CLOCK_MARGIN = timedelta(seconds=5)


def _sync_subscription_by_id(member: Member, subscription_id: str, d: Delivery, read: Obj | None = None) -> None:
    """Read the subscription from Stripe and store it, unless it was read after this event was
    stored: in this batch (`d.fresh`), or, by our clock, after the event arrived (Stripe sends
    an event once its change is made, so that read included it). A burst of events for one
    subscription then costs one read and one write, not one each. `read` is the subscription
    as a read made for this event has just brought it (expanded in its invoice): no read then."""
    if subscription_id in d.fresh:
        return
    # The member's subscriptions came with its lock; a subscription we have never seen is not among them.
    stored = next((s for s in member.subscriptions if s.stripe_subscription_id == subscription_id), None)
    if stored is not None and stored.synced_at >= d.received_at + CLOCK_MARGIN:
        return
    current = read if read is not None and read.get("id") == subscription_id else d.gateway.retrieve_subscription(subscription_id)
    billing.sync_subscription(member, current, d.now, cause=d.cause, stored=stored)
    d.fresh.add(subscription_id)


def checkout_completed(d: Delivery) -> Member:
    """A subscription checkout: sync its subscription. A one-time payment (a gift): record the
    contribution once it is paid (a bank debit pays later: async_payment_succeeded)."""
    member = member_for(d.obj.get("customer"), d.obj.get("client_reference_id") or _metadata_member(d.obj))
    session = d.gateway.retrieve_checkout_session(d.obj["id"])
    if session.get("status") == "complete" and session.get("subscription"):
        _sync_subscription_by_id(member, stripe_id(session["subscription"]), d)  # type: ignore[arg-type]
        touch(member, checkout_attribution(session), d.now)
    if session.get("mode") == "payment":
        contributions.record_checkout_payment(member, session, d.gateway, d.now, cause=d.cause)
    return member


def checkout_payment_failed(d: Delivery) -> Member:
    """The bank debit that was to pay a completed Checkout Session failed
    (checkout.session.async_payment_failed,
    https://docs.stripe.com/payments/checkout/fulfill-orders#delayed-notification): the
    subscription no longer grants anything; the reader is told, once, that nothing started."""
    member = checkout_completed(d)
    emails.queue_first_payment_failed(member, d.obj["id"], f"{current_app.config['BASE_URL']}/")
    return member


def checkout_expired(d: Delivery) -> Member:
    member = member_for(d.obj.get("customer"), d.obj.get("client_reference_id") or _metadata_member(d.obj))
    _note(member, d, f"checkout {d.obj['id']} expired unpaid")
    return member


def subscription_changed(d: Delivery) -> Member:
    member = member_for(d.obj.get("customer"), _metadata_member(d.obj))
    _sync_subscription_by_id(member, d.obj["id"], d)
    return member


def _apply_invoice(d: Delivery) -> tuple[Member, Obj]:
    details = (d.obj.get("parent") or {}).get("subscription_details") or {}
    member = member_for(d.obj.get("customer"), (details.get("metadata") or {}).get("member_id"))
    invoice = d.gateway.retrieve_invoice_in_full(d.obj["id"])
    subscription_id = billing.invoice_subscription_id(invoice)
    if subscription_id:
        _sync_subscription_by_id(member, subscription_id, d, read=billing.invoice_subscription(invoice))
    billing.sync_invoice(member, invoice, d.now)
    contributions.record_invoice(member, invoice, d.gateway, d.now, cause=d.cause)
    return member, invoice


def invoice_changed(d: Delivery) -> Member:
    return _apply_invoice(d)[0]


def invoice_payment_failed(d: Delivery) -> Member:
    """Also tell the reader, once per payment attempt, with a link to fix their card; unless the
    bank only waits for them to authenticate the payment (Stripe sends payment_failed for that
    attempt too): invoice.payment_action_required asks them to confirm it instead."""
    member, invoice = _apply_invoice(d)
    # After the last attempt the subscription has ended: the "membership ended" email says so instead.
    if member.status is MemberStatus.PAST_DUE and not d.gateway.invoice_awaits_authentication(invoice["id"]):
        fix_url = f"{current_app.config['BASE_URL']}/account"
        emails.queue_payment_failed(member, invoice["id"], invoice.get("attempt_count") or 1, fix_url)
    return member


def invoice_payment_action_required(d: Delivery) -> Member:
    """The bank wants the reader to confirm the payment (3-D Secure): send them Stripe's link for it.
    https://docs.stripe.com/billing/subscriptions/overview#requires-action"""
    member, invoice = _apply_invoice(d)
    if invoice.get("status") == "open" and invoice.get("hosted_invoice_url"):
        emails.queue_payment_action_required(member, invoice["id"], invoice.get("attempt_count") or 1,
                                             invoice["hosted_invoice_url"])
    return member


def charge_refunded(d: Delivery) -> Member:
    member = member_for(d.obj.get("customer"), _metadata_member(d.obj))
    charge = d.gateway.retrieve_charge(d.obj["id"])
    billing.record_issue(member, IssueKind.REFUND, charge["id"], d.now, cause=d.cause,
                         amount=charge.get("amount_refunded"), currency=charge.get("currency"),
                         detail=f"refunded {charge.get('amount_refunded')} of {charge.get('amount')}")
    _note(member, d, f"charge {charge['id']} refunded", kind=ActivityKind.FLAGGED)
    contributions.apply_refund(member, charge, d.gateway, d.now, cause=d.cause)
    return member


def dispute_created(d: Delivery) -> Member:
    charge = d.gateway.retrieve_charge(stripe_id(d.obj["charge"]))  # type: ignore[arg-type]
    member = member_for(charge.get("customer"), _metadata_member(charge))
    billing.record_issue(member, IssueKind.DISPUTE, d.obj["id"], d.now, cause=d.cause,
                         amount=d.obj.get("amount"), currency=d.obj.get("currency"),
                         detail=f"dispute on {charge['id']}: {d.obj.get('reason') or 'no reason given'}")
    _note(member, d, f"payment {charge['id']} disputed", kind=ActivityKind.FLAGGED)
    contributions.apply_dispute(member, d.obj, charge, d.gateway, d.now, cause=d.cause)
    return member


def dispute_closed(d: Delivery) -> Member:
    """A won dispute gives the contribution back its amount; a lost one keeps it out."""
    charge = d.gateway.retrieve_charge(stripe_id(d.obj["charge"]))  # type: ignore[arg-type]
    member = member_for(charge.get("customer"), _metadata_member(charge))
    contributions.apply_dispute(member, d.obj, charge, d.gateway, d.now, cause=d.cause)
    _note(member, d, f"dispute on {charge['id']} closed: {d.obj.get('status')}")
    return member


def _note(member: Member, d: Delivery, detail: str, kind: ActivityKind = ActivityKind.NOTE) -> None:
    db.session.add(MemberActivity(member_id=member.id, kind=kind, stripe_event_id=d.event_id, detail=detail,
                                  created_at=d.now))
    db.session.flush()


HANDLERS: dict[str, Callable[[Delivery], Member]] = {
    "checkout.session.completed": checkout_completed,
    "checkout.session.async_payment_succeeded": checkout_completed,
    "checkout.session.async_payment_failed": checkout_payment_failed,
    "checkout.session.expired": checkout_expired,
    "customer.subscription.created": subscription_changed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_changed,
    "customer.subscription.paused": subscription_changed,
    "customer.subscription.resumed": subscription_changed,
    "invoice.paid": invoice_changed,
    "invoice.payment_failed": invoice_payment_failed,
    "invoice.payment_action_required": invoice_payment_action_required,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": dispute_created,
    "charge.dispute.closed": dispute_closed,
}

__all__ = ["HANDLERS", "Delivery", "NotOurs"]
