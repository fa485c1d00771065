"""Joining: from the public form to a Stripe Checkout Session.

`start_join` is the one entry point. A reader who already has access, or whom
Stripe may still charge (a live subscription: past_due, unpaid, paused,
incomplete; or a completed checkout not yet synced), never gets a second
checkout: they are emailed a sign-in link instead (their account page sends
them on to fix their card or manage billing), and the caller shows the same
"check your inbox" page it shows for sign-in, so the form never reveals
whether an address belongs to a member.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service.domain.billing.plans import sync_plan
from service.domain.billing.sync import Cause, stripe_id, sync_subscription, ts
from service.domain.giving.attribution import to_metadata
from service.domain.integrations import webhooks
from service.domain.members.access import LIVE, has_access, live_subscriptions
from service.domain.members.signin import send_signin_email
from service.domain.members.status import find_by_email, lock_member
from service.errors import BillingNotFound
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.i18n import stripe_locale
from service.logs import log_event
from service.models import ActivityKind, CheckoutAttempt, Member, MemberActivity, Plan

logger = logging.getLogger(__name__)
# Stripe keeps a session open for 24 hours; an older attempt is never worth a round trip.
REUSE_WITHIN = timedelta(hours=23)


@dataclass(frozen=True)
class JoinRequest:
    email: str
    name: str
    plan: Plan
    amount: int  # minor units of `currency`; the plan's own amount there unless it is pay what you want
    # The currency the reader chose (one of CURRENCIES the plan has an amount in); None: the plan's own.
    currency: str | None = None
    # utm_* / campaign / referral from the landing URL (giving.attribution.clean).
    attribution: dict[str, str] = field(default_factory=dict)
    # The language of the page the reader joined from: Checkout is shown in it, and a new member keeps it.
    language: str | None = None


@dataclass(frozen=True)
class JoinOutcome:
    """Where the reader goes next: a checkout URL, or (None) the "check your inbox" page."""

    checkout_url: str | None
    member_id: int | None


def start_join(req: JoinRequest, gateway: StripeGateway, now: datetime, *, base_url: str,
               checked: Member | None = None) -> JoinOutcome:
    """Create or reuse the pending member, their Stripe customer and an open Checkout Session.

    Never changes the name or language of an existing member: anyone can type anyone's address
    (the signed-in reader's own language follows the page they joined from).
    `checked` is a member the caller has just found with no access and nothing Stripe could
    charge (the signed-in reader): Stripe is not asked about them twice in one request.
    Raises the BillingError family when Stripe refuses or cannot be reached.
    """
    member = find_by_email(req.email)
    if member is not None and member is not checked and (has_access(member, now) or live_billing(member, gateway, now)):
        send_signin_email(member, now)
        log_event(logger, "join.already_member", member_id=member.id)
        return JoinOutcome(None, None)
    found = member
    member = lock_member(found.id if found is not None else
                         new_member(req.email, req.name, now, source="join form", language=req.language).id)
    assert member is not None  # just created or found, and members are never deleted mid-request
    if found is not None and found is checked and req.language:
        member.language = req.language
    customer = gateway.ensure_customer(member_id=member.id, email=member.email, name=member.name,
                                       customer_id=member.stripe_customer_id)
    member.stripe_customer_id = customer["id"]
    same = (CheckoutAttempt.kind == "membership", CheckoutAttempt.plan_id == req.plan.id, CheckoutAttempt.amount == req.amount,
            CheckoutAttempt.currency == (req.currency or req.plan.currency))
    attempt = (open_attempt(member, gateway, now, *same, locale=stripe_locale(req.language))
               or _new_attempt(member, req, gateway, now, base_url))
    return JoinOutcome(attempt.url, member.id)


def live_billing(member: Member, gateway: StripeGateway, now: datetime) -> bool:
    """Whether Stripe may still charge this member, so a new checkout would charge twice.

    Asks our store first, then Stripe: the customer's subscriptions, and their completed
    Checkout Sessions (a reader who paid while our webhooks were failing, or who never
    reached the success page, has a subscription we have not seen). What Stripe knows
    and we did not is synced now, under the member's lock.
    """
    if live_subscriptions(member):
        return True
    if not member.stripe_customer_id:
        return False
    customer = member.stripe_customer_id
    live = {s["id"]: s for s in gateway.list_subscriptions(customer=customer) if s["status"] in LIVE}
    for session in gateway.list_checkout_sessions(customer=customer, status="complete"):
        sub_id = stripe_id(session.get("subscription"))
        if sub_id and sub_id not in live:
            sub = gateway.retrieve_subscription(sub_id)
            if sub["status"] in LIVE:
                live[sub_id] = sub
    if live:
        locked = lock_member(member.id)
        assert locked is not None
        for sub in live.values():
            sync_subscription(locked, sub, now, cause=Cause(detail="found in Stripe when the member joined again"))
        log_event(logger, "join.live_subscription_found", member_id=member.id, subscriptions=len(live))
    return bool(live)


def new_member(email: str, name: str, now: datetime, *, source: str, language: str | None = None) -> Member:
    """A pending member (reading `language`, if given); if the same address was inserted concurrently, that one."""
    try:
        with db.session.begin_nested():
            member = Member(email=email, name=name.strip(), language=language, created_at=now, status_changed_at=now)
            db.session.add(member)
            db.session.flush()
    except IntegrityError:
        found = find_by_email(email)
        assert found is not None
        return found
    db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.JOINED, detail=source, created_at=now))
    webhooks.publish("member.created", {"member": member}, now=now)
    log_event(logger, "member.created", member_id=member.id, source=source)
    return member


def open_attempt(member: Member, gateway: StripeGateway, now: datetime, *same: Any,
                 locale: str | None = None) -> CheckoutAttempt | None:
    """The member's newest attempt matching `same` (conditions on CheckoutAttempt: the same plan and
    amount, the same gift) whose session Stripe still has open, in the same `locale` when one is
    given: a double submit reuses it, a reader who switched language gets a page in the new one."""
    attempt = db.session.scalars(
        select(CheckoutAttempt)
        .where(CheckoutAttempt.member_id == member.id, *same, CheckoutAttempt.expires_at > now,
               CheckoutAttempt.created_at > now - REUSE_WITHIN)
        .order_by(CheckoutAttempt.id.desc()).limit(1)
    ).first()
    if attempt is None:
        return None
    try:
        session = gateway.retrieve_checkout_session(attempt.stripe_checkout_session_id)
    except BillingNotFound:
        return None
    if session.get("status") != "open" or (locale is not None and session.get("locale") != locale):
        return None
    log_event(logger, "join.checkout_reused", member_id=member.id, attempt_id=attempt.id)
    return attempt


def line_item(plan: Plan, amount: int, gateway: StripeGateway, currency: str | None = None) -> dict[str, Any]:
    """The Checkout line item: the plan's Price (whose currency_options carry its other currencies),
    or inline price data for pay what you want, in `currency` (default: the plan's own)."""
    if not plan.stripe_price_id or not plan.stripe_product_id:
        sync_plan(plan, gateway)
    if not plan.pay_what_you_want:
        return {"price": plan.stripe_price_id}
    return {"price_data": {"currency": currency or plan.currency, "unit_amount": amount, "product": plan.stripe_product_id,
                           "recurring": {"interval": str(plan.interval)}}}


def _new_attempt(member: Member, req: JoinRequest, gateway: StripeGateway, now: datetime,
                 base_url: str) -> CheckoutAttempt:
    previous = db.session.scalar(select(func.count(CheckoutAttempt.id)).where(CheckoutAttempt.member_id == member.id))
    assert previous is not None  # COUNT always returns a row
    currency = req.currency or req.plan.currency
    # The idempotency key names this customer's n-th attempt at this moment, for this plan, amount
    # and currency: the SDK's retries of this request reuse it, any later join gets a new one.
    key = (f"{member.id}-{member.stripe_customer_id}-{previous + 1}-{req.plan.code}-{req.amount}-{currency}"
           f"-{int(now.timestamp() * 1000)}")
    session = gateway.create_checkout_session(
        member_id=member.id, customer_id=member.stripe_customer_id or "", key=key,
        line_item=line_item(req.plan, req.amount, gateway, currency), currency=currency,
        success_url=f"{base_url}/join/success?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{base_url}/join/cancelled", metadata=to_metadata(req.attribution),
        locale=stripe_locale(req.language),
    )
    attempt = CheckoutAttempt(member_id=member.id, plan_id=req.plan.id, amount=req.amount, currency=currency,
                              details={"attribution": req.attribution} if req.attribution else None,
                              stripe_checkout_session_id=session["id"], url=session["url"],
                              expires_at=ts(session.get("expires_at")) or now + REUSE_WITHIN, created_at=now)
    db.session.add(attempt)
    db.session.flush()
    log_event(logger, "join.checkout_created", member_id=member.id, attempt_id=attempt.id, plan=req.plan.code,
              amount=req.amount, currency=currency)
    return attempt

