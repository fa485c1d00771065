"""A reader's own plan changes from the account page (and the cancel flow's offers): monthly to
yearly now, yearly to monthly at renewal, a new pay-what-you-want amount, a pause of 1-3 months.

Each change goes through Stripe, is synced back into the store at once (billing/sync.py) and
says what the next charge will be and when. None can charge twice: the member is locked, the
change is refused when the subscription is already in the wanted state (so a double submit is a
409), and every Stripe call carries an idempotency key naming this one attempt (the timeline note
written for it, as `cancel_membership` does), so the SDK's retry of a request replays it while a
later change, even back to an earlier amount, is a new request. Nothing is stored unless Stripe's
answer carries the change asked for; a change that must be paid at once is applied only if the
card pays (`payment_behavior=error_if_incomplete`, see `StripeGateway.change_price`).
"""
from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from flask_babel import gettext
from sqlalchemy import select

from service.domain.billing.join import line_item
from service.domain.billing.sync import Cause, sync_subscription
from service.domain.members.access import GRANTING, primary_subscription
from service.domain.members.status import lock_member
from service.errors import BillingError, ChangeDeclined, Conflict, PaymentDeclined, ValidationFailed
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import ActivityKind, Interval, Member, MemberActivity, Plan, Subscription
from service.money import format_money

logger = logging.getLogger(__name__)
PAUSE_MONTHS = (1, 2, 3)


@dataclass(frozen=True)
class Change:
    """What a change did: charged now (an invoice's amount, or None) and the next charge."""

    subscription: Subscription
    next_amount: int
    next_at: datetime | None
    charged_now: int | None = None


@dataclass(frozen=True)
class Choices:
    """What the account page (and the cancel flow) can offer this subscription."""

    subscription: Subscription
    yearly: Plan | None  # a monthly subscription may switch to this yearly plan
    yearly_saving: int  # twelve monthly payments minus the yearly one (minor units)
    monthly: Plan | None  # a yearly subscription may move to this monthly plan at renewal
    pwyw: Plan | None  # the pay-what-you-want plan in the subscription's currency
    min_amount: int | None  # its minimum there

    @property
    def can_lower(self) -> bool:
        return self.pwyw is not None and self.min_amount is not None and self.subscription.amount > self.min_amount

    @property
    def can_pause(self) -> bool:
        sub = self.subscription
        return _monthly(sub) and sub.pause_behavior is None


def _monthly(sub: Subscription) -> bool:
    return sub.interval is Interval.MONTH and sub.interval_count == 1


def _plans() -> list[Plan]:
    return list(db.session.scalars(select(Plan).where(Plan.active).order_by(Plan.sort_order, Plan.id)))


def changeable(member: Member) -> Subscription | None:
    """The subscription a reader may change: paid up (active or trialing) and not set to end."""
    sub = primary_subscription(member.subscriptions)
    if sub is None or sub.status not in GRANTING or sub.cancel_at_period_end or sub.cancel_at is not None:
        return None
    return sub


def choices(member: Member) -> Choices | None:
    sub = changeable(member)
    if sub is None:
        return None
    cur, plans = sub.currency, _plans()
    fixed = [p for p in plans if not p.pay_what_you_want and p.amount_in(cur) is not None]
    # Yearly only from the fixed monthly plan: for a pay-what-you-want reader giving more than the
    # yearly price a month, "yearly" would be a cut for the newsroom, not a saving for them.
    on_fixed_monthly = _monthly(sub) and sub.plan is not None and not sub.plan.pay_what_you_want
    yearly = next((p for p in fixed if p.interval is Interval.YEAR), None) if on_fixed_monthly else None
    monthly = next((p for p in fixed if p.interval is Interval.MONTH), None) if sub.interval is Interval.YEAR else None
    pwyw = next((p for p in plans if p.pay_what_you_want and p.interval is sub.interval
                 and p.min_amount_in(cur) is not None), None)
    saving = 12 * sub.amount - (yearly.amount_in(cur) or 0) if yearly is not None else 0
    return Choices(sub, yearly, max(saving, 0), monthly, pwyw, pwyw.min_amount_in(cur) if pwyw else None)


def _locked_choices(member: Member) -> tuple[Member, Choices]:
    locked = lock_member(member.id)
    assert locked is not None
    found = choices(locked)
    if found is None:
        raise Conflict(gettext("There is no running membership to change."), code="nothing_to_change")
    return locked, found


def _note(member: Member, detail: str, now: datetime) -> MemberActivity:
    """The timeline line for a change, written (and flushed) before Stripe is asked: its id names
    the attempt in the idempotency key, and the request's rollback takes it away if the change fails."""
    note = MemberActivity(member_id=member.id, kind=ActivityKind.NOTE, created_at=now, detail=detail)
    db.session.add(note)
    db.session.flush()
    return note


def _key(note: MemberActivity, sub: Subscription) -> str:
    """One Stripe request per attempt (https://docs.stripe.com/api/idempotent_requests: a key used
    again returns the first answer and changes nothing). A key built from the states changed from
    and to would repeat for 10 -> 20, 20 -> 10, 10 -> 20 in one period, and the third change would
    silently not happen."""
    return f"activity-{note.id}-{sub.id}"


def _not_applied(what: str, member: Member, sub: Subscription) -> BillingError:
    log_event(logger, "account.change_not_applied", level=logging.ERROR, member_id=member.id,
              stripe_subscription_id=sub.stripe_subscription_id, change=what)
    return BillingError(f"Stripe's answer does not carry the {what} asked for; nothing was stored.",
                        code="change_not_applied")


def _check_price(fresh: dict, line: dict, member: Member, sub: Subscription) -> None:
    """Raise BillingError unless the subscription Stripe returned bills `line` (a price id, or price data)."""
    price = fresh["items"]["data"][0]["price"]
    if "price" in line:
        carried = price["id"] == line["price"]
    else:
        data = line["price_data"]
        carried = (price.get("unit_amount") == data["unit_amount"] and price["currency"] == data["currency"]
                   and (price.get("recurring") or {}).get("interval") == data["recurring"]["interval"])
    if not carried:
        raise _not_applied("price", member, sub)


def _declined(member: Member) -> ChangeDeclined:
    log_event(logger, "account.change_declined", member_id=member.id)
    return ChangeDeclined(gettext("Your card was declined, so nothing changed: your plan is as it was and nothing "
                                  "was charged. Update your card with “Manage billing”, then try again."))


def switch_to_yearly(member: Member, gateway: StripeGateway, now: datetime, *, why: str = "account page") -> Change:
    """Monthly to yearly now: Stripe credits the unused month and invoices the year at once (a new
    interval resets the billing cycle, https://docs.stripe.com/billing/subscriptions/billing-cycle#changing).
    Raises ChangeDeclined when the card does not pay that invoice: Stripe then changes nothing."""
    locked, found = _locked_choices(member)
    sub, plan = found.subscription, found.yearly
    if plan is None:
        raise Conflict(gettext("This membership cannot switch to yearly."), code="nothing_to_change")
    detail = f"member switched to yearly ({plan.code}) from the {why}"
    note = _note(locked, detail, now)
    line = line_item(plan, plan.amount_in(sub.currency) or plan.amount, gateway, sub.currency)
    try:
        fresh = gateway.change_price(sub.stripe_subscription_id, item_id=_item_id(gateway, sub), line=line,
                                     proration_behavior="always_invoice", key=_key(note, sub))
    except PaymentDeclined:
        raise _declined(locked) from None
    _check_price(fresh, line, locked, sub)
    invoice = gateway.retrieve_invoice(fresh["latest_invoice"]) if fresh.get("latest_invoice") else {}
    row = sync_subscription(locked, fresh, now, cause=Cause(detail=detail), stored=sub)
    log_event(logger, "account.switched_to_yearly", member_id=locked.id, plan=plan.code)
    return Change(row, row.amount, row.current_period_end, charged_now=invoice.get("amount_paid"))


def switch_to_monthly_at_renewal(member: Member, gateway: StripeGateway, now: datetime) -> Change:
    """Yearly to monthly from the renewal on: nothing changes or is charged before the year ends."""
    locked, found = _locked_choices(member)
    sub, plan = found.subscription, found.monthly
    if plan is None:
        raise Conflict(gettext("This membership cannot switch to monthly."), code="nothing_to_change")
    price_id = line_item(plan, plan.amount, gateway)["price"]
    current = gateway.retrieve_subscription(sub.stripe_subscription_id)
    detail = f"member chose to move to monthly ({plan.code}) at renewal"
    note = _note(locked, detail, now)
    schedule = gateway.change_price_at_renewal(current, price_id=price_id, key=_key(note, sub))
    if [i["price"] for i in schedule["phases"][-1]["items"]] != [price_id]:
        raise _not_applied("price at renewal", locked, sub)
    row = sync_subscription(locked, gateway.retrieve_subscription(sub.stripe_subscription_id), now,
                            cause=Cause(detail=detail), stored=sub)
    log_event(logger, "account.monthly_at_renewal", member_id=locked.id, plan=plan.code)
    return Change(row, plan.amount_in(sub.currency) or plan.amount, row.current_period_end)


def change_amount(member: Member, amount: int, gateway: StripeGateway, now: datetime, *, why: str = "account page") -> Change:
    """A new pay-what-you-want amount, prorated: the unused time at the old amount is credited and
    the rest of the period at the new one charged on the next invoice (Stripe's default,
    `create_prorations`). Raises ValidationFailed under the plan's minimum."""
    locked, found = _locked_choices(member)
    sub, plan, minimum = found.subscription, found.pwyw, found.min_amount
    if plan is None or minimum is None:
        raise Conflict(gettext("This membership has no amount to choose."), code="nothing_to_change")
    if amount < minimum:
        raise ValidationFailed(gettext("The smallest amount is %(amount)s.", amount=format_money(minimum, sub.currency)))
    if amount == sub.amount and sub.plan_id == plan.id:
        raise Conflict(gettext("That is already your amount."), code="nothing_to_change")
    detail = f"member changed their amount from {sub.amount} to {amount} {sub.currency} from the {why}"
    note = _note(locked, detail, now)
    line = line_item(plan, amount, gateway, sub.currency)
    fresh = gateway.change_price(sub.stripe_subscription_id, item_id=_item_id(gateway, sub), line=line,
                                 proration_behavior="create_prorations", key=_key(note, sub))
    _check_price(fresh, line, locked, sub)
    row = sync_subscription(locked, fresh, now, cause=Cause(detail=detail), stored=sub)
    pending = sum(i["amount"] for i in gateway.pending_invoice_items(locked.stripe_customer_id or "")
                  if _item_subscription(i) == sub.stripe_subscription_id)
    log_event(logger, "account.amount_changed", member_id=locked.id, amount=amount, currency=sub.currency)
    return Change(row, max(row.amount + pending, 0), row.current_period_end)


def pause(member: Member, months: int, gateway: StripeGateway, now: datetime) -> Change:
    """No charge for the next `months` monthly renewals (1-3), access kept all along."""
    if months not in PAUSE_MONTHS:
        raise ValidationFailed(gettext("Choose a pause of 1, 2 or 3 months."))
    locked, found = _locked_choices(member)
    sub = found.subscription
    if not found.can_pause or sub.current_period_end is None:
        raise Conflict(gettext("This membership cannot be paused."), code="nothing_to_change")
    # Collection resumes during the last skipped period, so the renewal after it is charged.
    resumes = _add_months(sub.current_period_end, months - 1) + (_add_months(sub.current_period_end, 1) - sub.current_period_end) / 2
    detail = f"member paused payments for {months} month(s) from the cancel flow"
    note = _note(locked, detail, now)
    resumes_at = int(resumes.timestamp())
    fresh = gateway.pause_collection(sub.stripe_subscription_id, resumes_at=resumes_at, key=_key(note, sub))
    if (fresh.get("pause_collection") or {}).get("resumes_at") != resumes_at:
        raise _not_applied("pause", locked, sub)
    row = sync_subscription(locked, fresh, now, cause=Cause(detail=detail), stored=sub)
    log_event(logger, "account.paused", member_id=locked.id, months=months)
    return Change(row, row.amount, _add_months(sub.current_period_end, months))


def _item_id(gateway: StripeGateway, sub: Subscription) -> str:
    return str(gateway.retrieve_subscription(sub.stripe_subscription_id)["items"]["data"][0]["id"])


def _item_subscription(item: dict) -> str | None:
    parent = item.get("parent") or {}
    return (parent.get("subscription_details") or {}).get("subscription")


def _add_months(when: datetime, months: int) -> datetime:
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    return when.replace(year=year, month=month, day=min(when.day, calendar.monthrange(year, month)[1]), tzinfo=when.tzinfo or UTC)

