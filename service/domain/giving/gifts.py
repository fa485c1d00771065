"""Gift memberships (DESIGN.md "Gift memberships"): bought at /gift, delivered on a date, redeemed once.

A purchase is a Checkout Session in `mode=payment` on the purchaser's own member and Stripe
customer (the join's rules: one member per address, created pending if new), whose payment is
the purchaser's contribution of kind `gift_purchase` with its receipt. The gift itself waits
(`scheduled`) until its delivery date; the worker (or the payment itself, for a gift for today)
emails the recipient a signed link to /gift/redeem/<token>.

The link only shows the gift: redeeming takes a button press (a POST), so a mail scanner that
opens links spends nothing. Redeeming, under the gift's row lock, once:
- gives the recipient a term membership of the gift's months (a new member is created for the
  address the gift was sent to, and their digest enrolment is their own consent), or
- for a recipient already paying by subscription, credits the gift's value to their Stripe
  customer balance, which Stripe spends on their next invoices before charging a card. The
  credit's idempotency key is the gift, so a retried redemption cannot credit twice.
A link works for a year after delivery; then the gift expires. Staff may resend the email, move
the delivery date, or revoke a gift with a refund of its payment (revoking a redeemed gift takes
back the term, or the part of the credit not yet spent).
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from service.domain import emails
from service.domain.billing.join import REUSE_WITHIN, new_member, open_attempt
from service.domain.billing.sync import Cause, settle_status, ts
from service.domain.giving.amounts import gift_prices
from service.domain.giving.attribution import to_metadata
from service.domain.insight import fx
from service.domain.integrations import webhooks
from service.domain.members.access import live_subscriptions
from service.domain.members.status import find_by_email, lock_member
from service.domain.members.terms import grant_term, shorten_term
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.i18n import stripe_locale
from service.logs import log_event
from service.models import (
    ActivityKind,
    CheckoutAttempt,
    Contribution,
    ContributionKind,
    Gift,
    GiftRedemption,
    GiftStatus,
    Member,
    MemberActivity,
    Subscription,
)

logger = logging.getLogger(__name__)
TOKEN_SALT = "gift-redeem"
# A link works until the gift's expires_at, a year after delivery; its signature is checked for
# age too, with a week to spare (a resend signs the link afresh).
LINK_LIFETIME = timedelta(days=365)
SIGNATURE_MAX_AGE = LINK_LIFETIME + timedelta(days=7)
OPEN = (GiftStatus.SCHEDULED, GiftStatus.DELIVERED)


@dataclass(frozen=True)
class GiftRequest:
    purchaser_email: str
    purchaser_name: str
    recipient_name: str
    recipient_email: str
    months: int
    currency: str
    deliver_on: date
    message: str = ""
    attribution: dict[str, str] = field(default_factory=dict)
    # The language of the page: Checkout is shown in it, and the recipient's email is written in it.
    language: str | None = None

    def details(self) -> dict[str, object]:
        """What the form said, kept on the checkout attempt: a double submit of the same gift reuses its session."""
        return {"gift": {"recipient_name": self.recipient_name, "recipient_email": self.recipient_email,
                         "months": self.months, "deliver_on": self.deliver_on.isoformat(), "message": self.message,
                         "currency": self.currency},
                "attribution": self.attribution}


def price_of(months: int, currency: str) -> int | None:
    return gift_prices(currency).get(months)


def start_gift(req: GiftRequest, gateway: StripeGateway, now: datetime, *, base_url: str) -> str:
    """The Checkout URL for this gift membership (an open one for the same gift is reused).
    Raises ValueError for a length or currency the plans have no price for, and the BillingError
    family when Stripe refuses or cannot be reached."""
    amount = price_of(req.months, req.currency)
    if amount is None:
        raise ValueError(f"no price for a {req.months}-month gift in {req.currency}")
    found = find_by_email(req.purchaser_email)
    purchaser = lock_member(found.id if found is not None else new_member(
        req.purchaser_email, req.purchaser_name, now, source="gift form", language=req.language).id)
    assert purchaser is not None  # just created or found
    customer = gateway.ensure_customer(member_id=purchaser.id, email=purchaser.email,
                                       name=purchaser.name or req.purchaser_name, customer_id=purchaser.stripe_customer_id)
    purchaser.stripe_customer_id = customer["id"]
    details = req.details()
    attempt = open_attempt(purchaser, gateway, now, CheckoutAttempt.kind == ContributionKind.GIFT_PURCHASE.value,
                           CheckoutAttempt.amount == amount, CheckoutAttempt.currency == req.currency,
                           locale=stripe_locale(req.language))
    if attempt is not None and {k: v for k, v in (attempt.details or {}).items() if k != "gift_id"} == details:
        return attempt.url
    gift = Gift(purchaser_id=purchaser.id, purchaser_name=req.purchaser_name, recipient_name=req.recipient_name,
                recipient_email=req.recipient_email, message=req.message, months=req.months, amount=amount,
                currency=req.currency, deliver_on=req.deliver_on, language=req.language,
                token_nonce=secrets.token_hex(8), created_at=now)
    db.session.add(gift)
    db.session.flush()
    session = _checkout(gift, purchaser, req, gateway, now, base_url)
    gift.stripe_checkout_session_id = session["id"]
    attempt = CheckoutAttempt(member_id=purchaser.id, plan_id=None, kind=ContributionKind.GIFT_PURCHASE.value,
                              amount=amount, currency=req.currency, fee_covered=0, details={**details, "gift_id": gift.id},
                              stripe_checkout_session_id=session["id"], url=session["url"],
                              expires_at=ts(session.get("expires_at")) or now + REUSE_WITHIN, created_at=now)
    db.session.add(attempt)
    db.session.flush()
    log_event(logger, "gift.checkout_created", gift_id=gift.id, member_id=purchaser.id, months=gift.months,
              amount=amount, currency=gift.currency)
    return attempt.url


def _checkout(gift: Gift, purchaser: Member, req: GiftRequest, gateway: StripeGateway, now: datetime,
              base_url: str) -> dict:
    previous = db.session.scalar(select(func.count(CheckoutAttempt.id)).where(CheckoutAttempt.member_id == purchaser.id))
    org = current_app.config["RECEIPT_ORG_NAME"]
    return gateway.create_payment_checkout_session(
        member_id=purchaser.id, customer_id=purchaser.stripe_customer_id or "", amount=gift.amount, currency=gift.currency,
        product_name=f"Gift membership of {org}: {gift.months} months",
        key=f"gift-{gift.id}-{purchaser.stripe_customer_id}-{(previous or 0) + 1}-{int(now.timestamp() * 1000)}",
        metadata={"kind": ContributionKind.GIFT_PURCHASE.value, "gift_id": str(gift.id), **to_metadata(req.attribution)},
        success_url=f"{base_url}/gift/success?session_id={{CHECKOUT_SESSION_ID}}", cancel_url=f"{base_url}/gift",
        locale=stripe_locale(req.language))


# --- payment and delivery -------------------------------------------------------------


def gift_for_session(session_id: str, *, lock: bool = False) -> Gift | None:
    query = select(Gift).where(Gift.stripe_checkout_session_id == session_id)
    return db.session.scalar(query.with_for_update().execution_options(populate_existing=True) if lock else query)


def purchase_paid(contribution: Contribution, now: datetime) -> Gift | None:
    """The gift's payment was recorded as `contribution`: schedule it, confirm it to the purchaser,
    and deliver it now if its day has come. Idempotent: a gift is scheduled once."""
    gift = gift_for_session(contribution.stripe_checkout_session_id or "", lock=True)
    if gift is None or gift.status is not GiftStatus.AWAITING_PAYMENT:
        return gift
    gift.status, gift.contribution_id = GiftStatus.SCHEDULED, contribution.id
    db.session.flush()
    webhooks.publish("gift.purchased", {"gift": gift}, now=now, member_id=gift.purchaser_id)
    log_event(logger, "gift.purchased", gift_id=gift.id, member_id=gift.purchaser_id, deliver_on=gift.deliver_on.isoformat())
    if gift.deliver_on <= now.date():
        deliver(gift, now)
    purchaser = db.session.get(Member, gift.purchaser_id)
    assert purchaser is not None  # the contribution is theirs
    emails.queue_gift_confirmation(purchaser, gift)  # says whether the recipient has it already, or when
    return gift


def deliver(gift: Gift, now: datetime) -> None:
    """Email the recipient their redemption link now, and start its year (the delivery day is a UTC date)."""
    gift.status, gift.delivered_at = GiftStatus.DELIVERED, now
    gift.expires_at = now + LINK_LIFETIME
    db.session.flush()
    emails.queue_gift_delivery(gift, redeem_url(gift), dedupe_key=f"gift:{gift.id}:{gift.token_nonce}:{int(now.timestamp())}")
    log_event(logger, "gift.delivered", gift_id=gift.id)


def deliver_due(now: datetime, *, batch: int = 200) -> int:
    """The worker's run: deliver scheduled gifts whose day has come, and expire unredeemed ones a
    year after delivery. Returns how many gifts changed."""
    due = db.session.scalars(
        select(Gift).where(Gift.status == GiftStatus.SCHEDULED, Gift.deliver_on <= now.date())
        .order_by(Gift.deliver_on, Gift.id).limit(batch).with_for_update(skip_locked=True)).all()
    for gift in due:
        deliver(gift, now)
    stale = db.session.scalars(
        select(Gift).where(Gift.status == GiftStatus.DELIVERED, Gift.expires_at <= now)
        .limit(batch).with_for_update(skip_locked=True)).all()
    for gift in stale:
        gift.status = GiftStatus.EXPIRED
        log_event(logger, "gift.expired", gift_id=gift.id)
    db.session.flush()
    return len(due) + len(stale)


# --- the redemption link ---------------------------------------------------------------


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def redeem_url(gift: Gift) -> str:
    return f"{current_app.config['BASE_URL']}/gift/redeem/{_signer().dumps({'g': gift.id, 'n': gift.token_nonce})}"


def gift_for_token(token: str, *, lock: bool = False) -> Gift | None:
    """The gift a link names, if its signature holds and it is the gift's current link; None otherwise."""
    try:
        data = _signer().loads(token, max_age=int(SIGNATURE_MAX_AGE.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("g"), int) or not isinstance(data.get("n"), str):
        return None
    query = select(Gift).where(Gift.id == data["g"])
    gift = db.session.scalar(query.with_for_update().execution_options(populate_existing=True) if lock else query)
    return gift if gift is not None and secrets.compare_digest(gift.token_nonce, data["n"]) else None


def usable(gift: Gift, now: datetime) -> bool:
    return gift.status is GiftStatus.DELIVERED and gift.expires_at is not None and now < gift.expires_at


@dataclass(frozen=True)
class Redemption:
    gift: Gift
    member: Member
    # For a credit: what was credited, in the customer's currency.
    credited: int | None = None
    # Whether the redemption made this member (a new reader), rather than finding one.
    new_member: bool = False


def renewing(member: Member) -> Subscription | None:
    """The member's subscription that will renew (and so has invoices to spend a credit on): live,
    not past due, and not set to end."""
    return next((s for s in live_subscriptions(member) if str(s.status) in ("active", "trialing")
                 and not s.cancel_at_period_end and s.cancel_at is None and s.pause_behavior is None), None)


def redeem(gift: Gift, gateway: StripeGateway, now: datetime) -> Redemption | None:
    """Redeem a locked, usable gift for the address it was sent to; None when it is not usable
    (already redeemed, expired or revoked). A member whose subscription will renew gets a credit;
    anyone else a term, which starts when the access they have already ends (a member who has
    cancelled keeps what they paid for, then the gift's months). Raises the BillingError family
    when a credit cannot reach Stripe."""
    if not usable(gift, now):
        return None
    found = find_by_email(gift.recipient_email)
    member = lock_member(found.id if found is not None else new_member(
        gift.recipient_email, gift.recipient_name, now, source=f"gift {gift.id}", language=gift.language).id)
    assert member is not None
    cause = Cause(detail=f"gift membership {gift.id} redeemed")
    credited = None
    subscription = renewing(member)
    if subscription is not None and member.stripe_customer_id:
        credited = _credit(gift, member, subscription, gateway, now)
    else:
        grant_term(member, gift.months, now, detail=f"gift membership from {gift.purchaser_name}",
                   start=max((s.current_period_end for s in live_subscriptions(member) if s.current_period_end), default=None))
        gift.redeemed_as = GiftRedemption.TERM
    gift.status, gift.redeemed_at, gift.recipient_id = GiftStatus.REDEEMED, now, member.id
    settle_status(member, now, cause)
    db.session.flush()
    webhooks.publish("gift.redeemed", {"gift": gift}, now=now, member_id=member.id)
    log_event(logger, "gift.redeemed", gift_id=gift.id, member_id=member.id, redeemed_as=str(gift.redeemed_as))
    return Redemption(gift, member, credited, new_member=found is None)


def _credit(gift: Gift, member: Member, subscription: Subscription, gateway: StripeGateway, now: datetime) -> int:
    currency = subscription.currency
    amount = convert(gift.amount, gift.currency, currency)
    if amount is None:  # no rate between the two currencies: the gift's months at the member's own price
        amount = gift.months * month_rate(subscription)
    customer = member.stripe_customer_id or ""
    # A credit made by an earlier try whose transaction did not commit is found, not made again (its
    # idempotency key alone would only protect a retry within Stripe's 24 hours).
    txn = gateway.find_balance_credit(customer, metadata_key="gift_id", value=str(gift.id)) or gateway.credit_balance(
        customer, amount=amount, currency=currency, description=f"Gift membership: {gift.months} months from {gift.purchaser_name}",
        key=f"gift-{gift.id}", metadata={"gift_id": str(gift.id)})
    amount = -int(txn.get("amount") or -amount)
    gift.redeemed_as, gift.credited_amount, gift.credited_currency = GiftRedemption.CREDIT, amount, currency
    gift.stripe_credit_id = txn.get("id")
    db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.BILLING_SYNCED, created_at=now,
                                  detail=f"gift membership {gift.id} from {gift.purchaser_name}: {amount} {currency} "
                                         "credited to the Stripe balance for the next invoices"))
    return amount


def convert(amount: int, source: str, target: str) -> int | None:
    """`amount` of `source` in `target` through the reporting currency at FX_RATES, rounded to the
    minor unit; None without a rate for either."""
    if source == target:
        return amount
    rates = fx.Rates.configured()
    (to_reporting, _), (from_reporting, _) = rates.fallback(source), rates.fallback(target)
    if to_reporting is None or from_reporting is None:
        return None
    return fx.convert(amount, source, to_reporting / from_reporting, target)


def month_rate(sub: Subscription) -> int:
    """What a subscription costs per month, in its minor units (a yearly one: a twelfth, rounded down)."""
    months = {"year": 12, "month": 1}.get(str(sub.interval))
    return sub.amount // (months * sub.interval_count) if months else sub.amount


def months_covered(balance: int, member: Member) -> int:
    """How many months of the member's subscription a customer balance credit (minor units,
    positive) covers; 0 without a subscription."""
    subscription = renewing(member)
    if balance <= 0 or subscription is None:
        return 0
    per_month = month_rate(subscription)
    return balance // per_month if per_month > 0 else 0


@dataclass(frozen=True)
class Credit:
    """Gift credit left on a member's Stripe balance: how much, and how many months it covers."""

    amount: int
    currency: str
    months: int


def gift_credit(member: Member, gateway: StripeGateway) -> Credit | None:
    """The credit left on the member's Stripe balance when a gift was redeemed as credit, or None
    (no such gift, or nothing left). One Stripe read, only for members who redeemed a credit."""
    credited = db.session.scalar(select(Gift.credited_currency).where(
        Gift.recipient_id == member.id, Gift.redeemed_as == GiftRedemption.CREDIT).limit(1))
    if credited is None or not member.stripe_customer_id:
        return None
    customer = gateway.retrieve_customer(member.stripe_customer_id)
    left = -int(customer.get("balance") or 0)
    if left <= 0:
        return None
    return Credit(left, customer.get("currency") or credited, months_covered(left, member))


def given_by(member: Member) -> list[Gift]:
    """The gift memberships a member bought and paid for, newest first."""
    return list(db.session.scalars(select(Gift).where(Gift.purchaser_id == member.id,
                                                      Gift.status != GiftStatus.AWAITING_PAYMENT).order_by(Gift.id.desc())))


# --- staff ------------------------------------------------------------------------------


def resend(gift: Gift, now: datetime) -> bool:
    """Email the recipient their link again (a delivered gift), or now (a scheduled one)."""
    if gift.status not in OPEN:
        return False
    if gift.status is GiftStatus.DELIVERED:
        emails.queue_gift_delivery(gift, redeem_url(gift), dedupe_key=f"gift:{gift.id}:resend:{int(now.timestamp())}")
        log_event(logger, "gift.resent", gift_id=gift.id)
    else:
        deliver(gift, now)
    return True


def reschedule(gift: Gift, deliver_on: date, now: datetime) -> bool:
    """Move a gift not yet delivered to another day (today delivers it now)."""
    if gift.status not in (GiftStatus.SCHEDULED, GiftStatus.AWAITING_PAYMENT):
        return False
    gift.deliver_on = deliver_on
    db.session.flush()
    if gift.status is GiftStatus.SCHEDULED and deliver_on <= now.date():
        deliver(gift, now)
    log_event(logger, "gift.rescheduled", gift_id=gift.id, deliver_on=deliver_on.isoformat())
    return True


def revoke(gift: Gift, gateway: StripeGateway, now: datetime, *, staff_user_id: int | None = None) -> bool:
    """Refund the gift's payment and cancel it: its link stops working; a redeemed gift's term is
    taken back, or the part of its credit not yet spent. The refund cannot happen twice: its
    idempotency key is the gift's PaymentIntent, a payment already refunded in full (in Stripe's
    Dashboard, say) is not refunded again, and Stripe refuses to refund more than was paid."""
    if gift.status in (GiftStatus.REVOKED, GiftStatus.AWAITING_PAYMENT):
        return False
    contribution = db.session.get(Contribution, gift.contribution_id) if gift.contribution_id else None
    if (contribution is not None and contribution.stripe_payment_intent_id
            and contribution.refunded_amount < contribution.amount):
        gateway.refund_payment_intent(contribution.stripe_payment_intent_id)
    _cancel(gift, gateway, now, staff_user_id)
    log_event(logger, "gift.revoked", gift_id=gift.id, staff_user_id=staff_user_id)
    return True


def payment_refunded(contribution: Contribution, gateway: StripeGateway, now: datetime) -> None:
    """A gift's payment was refunded in full (or lost to a dispute) outside the console: the gift
    is cancelled as a revoke would, without refunding again."""
    gift = db.session.scalar(select(Gift).where(Gift.contribution_id == contribution.id).with_for_update()
                             .execution_options(populate_existing=True))
    if gift is None or gift.status in (GiftStatus.REVOKED, GiftStatus.AWAITING_PAYMENT):
        return
    _cancel(gift, gateway, now, None)
    log_event(logger, "gift.revoked", gift_id=gift.id, reason="payment refunded")


def _cancel(gift: Gift, gateway: StripeGateway, now: datetime, staff_user_id: int | None) -> None:
    if gift.status is GiftStatus.REDEEMED and gift.recipient_id is not None:
        _take_back(gift, gateway, now, staff_user_id)
    gift.status, gift.revoked_at, gift.token_nonce = GiftStatus.REVOKED, now, secrets.token_hex(8)
    db.session.flush()


def _take_back(gift: Gift, gateway: StripeGateway, now: datetime, staff_user_id: int | None) -> None:
    recipient = lock_member(gift.recipient_id or 0)
    if recipient is None:
        return
    if gift.redeemed_as is GiftRedemption.TERM:
        shorten_term(recipient, gift.months, now, detail=f"gift membership {gift.id} revoked")
        settle_status(recipient, now, Cause(staff_user_id=staff_user_id, detail=f"gift membership {gift.id} revoked"))
    elif gift.credited_amount and recipient.stripe_customer_id:
        unspent = min(gift.credited_amount, max(-int(gateway.retrieve_customer(recipient.stripe_customer_id).get("balance") or 0), 0))
        if unspent:
            gateway.debit_balance(recipient.stripe_customer_id, amount=unspent, currency=gift.credited_currency or gift.currency,
                                  description=f"Gift membership {gift.id} revoked", key=f"gift-{gift.id}-revoke")
        db.session.add(MemberActivity(member_id=recipient.id, kind=ActivityKind.BILLING_SYNCED, staff_user_id=staff_user_id,
                                      created_at=now, detail=f"gift membership {gift.id} revoked: {unspent} "
                                                             f"{gift.credited_currency} of unspent credit taken back"))
