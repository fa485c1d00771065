"""Billing state: Stripe's current objects mirrored into the member store.

Every function here takes a *fresh* object read through the gateway (never a
webhook snapshot, which may be older than what we already stored) and the
member it belongs to, already locked with `lock_member`. So two deliveries for
one member are applied one after the other, each writing what Stripe says now.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select

from service.domain import emails
from service.domain.billing import revenue
from service.domain.giving.attribution import from_metadata
from service.domain.members.access import LIVE
from service.domain.members.status import locked_where, refresh_status
from service.extensions import db
from service.logs import log_event
from service.models import (
    BillingIssue,
    Interval,
    Invoice,
    InvoiceStatus,
    IssueKind,
    Member,
    MemberStatus,
    Plan,
    Subscription,
    SubscriptionStatus,
)

logger = logging.getLogger(__name__)
Obj = dict[str, Any]


class NotOurs(Exception):
    """A genuine Stripe object that belongs to no member of ours; the message says why."""


@dataclass(frozen=True)
class Cause:
    """Why billing state changed: a Stripe event, a staff user's action, or a named job."""

    stripe_event_id: str | None = None
    staff_user_id: int | None = None
    detail: str = ""


def ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def stripe_id(value: str | Obj | None) -> str | None:
    """An id from a field that is either the id or the expanded object."""
    return value.get("id") if isinstance(value, dict) else value


def member_for(customer: str | Obj | None, member_ref: str | None) -> Member:
    """The member an object belongs to, locked: by our stored Stripe customer, else by the
    member id we put in its metadata (client_reference_id / metadata.member_id). Never by email.

    Raises NotOurs when neither leads to a member, or when they disagree.
    """
    customer_id = stripe_id(customer)
    if customer_id:
        member = locked_where(Member.stripe_customer_id == customer_id)
        if member is not None:
            return member
    if member_ref and str(member_ref).isdigit():
        member = locked_where(Member.id == int(member_ref))
        if member is not None and member.stripe_customer_id in (None, customer_id):
            return member
        if member is not None:
            raise NotOurs(f"member {member_ref} belongs to another Stripe customer than {customer_id}")
    raise NotOurs(f"no member for customer {customer_id or '-'} / member id {member_ref or '-'}")


def _plan_for(price: Obj, known: Plan | None = None) -> Plan | None:
    """Our plan for a Stripe price: by price id, by lookup key, or by product (pay what you want).
    `known` is the plan stored for the subscription: when its price is still this one, it is the
    answer (the usual renewal or update), without asking the database again."""
    if known is not None and (known.stripe_price_id == price["id"]
                              or (price.get("lookup_key") and known.stripe_lookup_key == price["lookup_key"])):
        return known
    matches = [Plan.stripe_price_id == price["id"],
               (Plan.stripe_product_id == stripe_id(price.get("product"))) & Plan.pay_what_you_want]
    if price.get("lookup_key"):
        matches.append(Plan.stripe_lookup_key == price["lookup_key"])
    return db.session.scalars(select(Plan).where(or_(*matches)).order_by(Plan.pay_what_you_want)).first()


def _unit_amount(price: Obj, currency: str, plan: Plan | None) -> int:
    """The price's amount in the subscription's currency: its own, or (a multi-currency Price) its
    currency option's, which Stripe includes only when expanded, so else the plan's amount there
    (https://docs.stripe.com/api/prices/object#price_object-currency_options)."""
    if currency == price["currency"]:
        return price.get("unit_amount") or 0
    option = (price.get("currency_options") or {}).get(currency) or {}
    if option.get("unit_amount") is not None:
        return int(option["unit_amount"])
    return (plan.amount_in(currency) if plan is not None else None) or 0


def sync_subscription(member: Member, sub: Obj, now: datetime, *, cause: Cause,
                      stored: Subscription | None = None) -> Subscription:
    """Write Stripe's current subscription into the store and recompute the member's status.
    `stored` is its row when the caller has it already (from the member's subscriptions)."""
    item = sub["items"]["data"][0]
    price = item["price"]
    row = stored if stored is not None and stored.stripe_subscription_id == sub["id"] else db.session.scalar(
        select(Subscription).where(Subscription.stripe_subscription_id == sub["id"]))
    plan = _plan_for(price, row.plan if row is not None else None)
    if row is None:
        row = Subscription(member_id=member.id, stripe_subscription_id=sub["id"])
        member.subscriptions.append(row)
    row.status = SubscriptionStatus(sub["status"])
    row.currency = sub.get("currency") or price["currency"]
    row.amount = _unit_amount(price, row.currency, plan) * (item.get("quantity") or 1)
    row.interval = Interval(price["recurring"]["interval"])
    row.interval_count = price["recurring"].get("interval_count") or 1
    row.plan = plan
    row.current_period_end = ts(item["current_period_end"])
    # cancel_at is a date, not "at period end": renewals before it go on (and are charged).
    row.cancel_at_period_end = bool(sub.get("cancel_at_period_end"))
    row.cancel_at = ts(sub.get("cancel_at"))
    pause = sub.get("pause_collection") or {}
    row.pause_behavior = pause.get("behavior")
    row.pause_resumes_at = ts(pause.get("resumes_at"))
    row.canceled_at = ts(sub.get("canceled_at"))
    row.ended_at = ts(sub.get("ended_at"))
    row.stripe_created_at = ts(sub["created"])  # type: ignore[assignment]
    row.attribution = from_metadata(sub.get("metadata")) or row.attribution
    # The member's row is written only when the subscription as stored changed (a new row, or a
    # value that differs): most events re-read a subscription whose stored fields are as they
    # were, and then only its synced_at moves (Member.billing_read_at tells staff either way).
    changed = row.id is None or db.session.is_modified(row)
    row.synced_at = now
    if member.stripe_customer_id is None:
        member.stripe_customer_id = stripe_id(sub["customer"])
    db.session.flush()
    _flag_duplicates(member, now, cause)
    if changed:  # after the flush: a status change below writes it in the same UPDATE of the member
        member.billing_synced_at = now
    settle_status(member, now, cause)
    return row


def settle_status(member: Member, now: datetime, cause: Cause) -> None:
    """Recompute the status; a change brings the emails that go with it."""
    old = member.status
    if not refresh_status(member, now, stripe_event_id=cause.stripe_event_id, staff_user_id=cause.staff_user_id,
                          detail=cause.detail):
        return
    if member.status is MemberStatus.ACTIVE and old in (MemberStatus.PENDING, MemberStatus.LAPSED):
        emails.queue_welcome(member)
    elif member.status is MemberStatus.LAPSED and old in (MemberStatus.ACTIVE, MemberStatus.PAST_DUE, MemberStatus.COMPED):
        emails.queue_membership_ended(member, now)


def _flag_duplicates(member: Member, now: datetime, cause: Cause) -> None:
    """Two live subscriptions (ones Stripe may charge) at once means someone pays twice: tell
    staff, who can cancel and refund the newer one in one click."""
    # Oldest first (Stripe's time, then ours: two checkouts can complete in the same second).
    live = sorted((s for s in member.subscriptions if s.status in LIVE), key=lambda s: (s.stripe_created_at, s.id))
    for extra in live[1:]:
        record_issue(member, IssueKind.DUPLICATE_SUBSCRIPTION, extra.stripe_subscription_id, now, cause=cause,
                     amount=extra.amount, currency=extra.currency,
                     detail=f"also pays through {live[0].stripe_subscription_id}: cancel and refund the duplicate")


def record_issue(member: Member, kind: IssueKind, object_id: str, now: datetime, *, cause: Cause,
                 amount: int | None = None, currency: str | None = None, detail: str = "") -> BillingIssue:
    """Record (once per Stripe object) something staff should look at; update its amount after."""
    issue = db.session.scalar(
        select(BillingIssue).where(BillingIssue.kind == kind, BillingIssue.stripe_object_id == object_id))
    if issue is None:
        issue = BillingIssue(member_id=member.id, kind=kind, stripe_object_id=object_id, created_at=now,
                             stripe_event_id=cause.stripe_event_id)
        db.session.add(issue)
        log_event(logger, "billing.issue_flagged", member_id=member.id, kind=str(kind), stripe_object_id=object_id)
    issue.amount, issue.currency, issue.detail = amount, currency, detail
    db.session.flush()
    return issue


def sync_invoice(member: Member, invoice: Obj, now: datetime) -> Invoice:
    """Write Stripe's current invoice into the store."""
    sub_id = invoice_subscription_id(invoice)
    subscription_row_id = (
        db.session.scalar(select(Subscription.id).where(Subscription.stripe_subscription_id == sub_id)) if sub_id else None
    )
    row = db.session.scalar(select(Invoice).where(Invoice.stripe_invoice_id == invoice["id"]))
    if row is None:
        row = Invoice(member_id=member.id, stripe_invoice_id=invoice["id"])
        db.session.add(row)
    row.subscription_id = subscription_row_id
    row.status = InvoiceStatus(invoice["status"])
    row.amount_due = invoice["amount_due"]
    row.amount_paid = invoice["amount_paid"]
    row.currency = invoice["currency"]
    row.billing_reason = invoice.get("billing_reason")
    row.attempt_count = invoice.get("attempt_count") or 0
    row.hosted_invoice_url = invoice.get("hosted_invoice_url")
    row.stripe_created_at = ts(invoice["created"])  # type: ignore[assignment]
    row.paid_at = ts((invoice.get("status_transitions") or {}).get("paid_at"))
    row.synced_at = now
    db.session.flush()
    # A paid invoice counted before stays as counted (paid is final in Stripe): only a new one
    # changes the member's recurring revenue.
    if (row.revenue_start is None and row.status is InvoiceStatus.PAID and row.amount_paid > 0
            and row.subscription_id is not None):
        revenue.record(member.id)
    return row


def invoice_subscription_id(invoice: Obj) -> str | None:
    """Where the pinned API version keeps an invoice's subscription: parent.subscription_details."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return stripe_id(details.get("subscription"))


def invoice_subscription(invoice: Obj) -> Obj | None:
    """The invoice's subscription when the read expanded it (`retrieve_invoice_in_full`), else None."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    subscription = details.get("subscription")
    return subscription if isinstance(subscription, dict) else None


def invoice_paid_intents(invoice: Obj) -> list[str] | None:
    """The PaymentIntents of the invoice's paid payments, from its expanded `payments`; None when
    the read did not expand them, or they run to more than one page (ask Stripe then)."""
    payments = invoice.get("payments")
    if not isinstance(payments, dict) or payments.get("has_more"):
        return None
    paid = (p for p in payments.get("data") or [] if p.get("status") == "paid")
    return [intent for p in paid if (intent := stripe_id((p.get("payment") or {}).get("payment_intent")))]
