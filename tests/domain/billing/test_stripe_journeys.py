"""Journeys a reader lives through, end to end against the strict sandbox: the service wired to
it over HTTP (`sandbox_app`), the reader paying on its hosted pages, and every event it emitted
posted to the service signed like Stripe (tests/billing.py). Each test asserts what a reader or
staff member would notice: status and access, the subscription row, emails queued, and that
Stripe holds no second subscription.

The Stripe document each journey relies on is cited in its docstring; the sandbox tests
(tests/sandbox/test_*.py) cite the same documents for the behaviour the sandbox follows.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import pytest
import stripe
from sqlalchemy import select

from service.db import utcnow
from service.domain.billing.sync import invoice_subscription_id
from service.domain.insight.dashboard import revenue
from service.domain.members.access import access_until, has_access
from service.domain.members.expiry import expire_ended_access
from service.domain.newsletter.lists import MEMBERS_LIST
from service.models import (
    Interval,
    Invoice,
    InvoiceStatus,
    ListStatus,
    ListSubscription,
    MemberStatus,
    Newsletter,
    Subscription,
    SubscriptionStatus,
)
from tests.billing import Reader, deliver_all, portal_url
from tests.sandbox.harness import pay
from tests.web.readers import emails_to, join, member, sign_in_as

DAY, HOUR = 86400, 3600
AUTH_ON_SESSION = "4000 0025 0000 3155"  # authenticates once at checkout, then renews off-session
AUTH_ALWAYS = "4000 0027 6000 3184"  # asks for authentication on every payment, renewals included
BANK_OK, BANK_FAILS = "000123456789", "000222222227"
CONFIRM_SUBJECT = "Please confirm your membership payment"
WELCOME_SUBJECT = "Welcome, and thank you for becoming a member"
# Every paid invoice is a contribution with a numbered receipt email.
RECEIPT_SUBJECT = "Your receipt: thank you"


# --- helpers ---------------------------------------------------------------------------


def _sdk(sandbox) -> stripe.StripeClient:
    """The official SDK pointed at the sandbox, for what the service's gateway does not do."""
    return stripe.StripeClient("sk_test_x", base_addresses={"api": sandbox.url}, max_network_retries=0)


def _at(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _period_end(sub: dict[str, Any]) -> int:
    return sub["items"]["data"][0]["current_period_end"]


def _row(db_session, reader: Reader) -> Subscription:
    return db_session.scalars(select(Subscription).where(Subscription.member_id == reader.member.id)).one()


def _invoice_row(db_session, invoice_id: str) -> Invoice:
    return db_session.scalars(select(Invoice).where(Invoice.stripe_invoice_id == invoice_id)).one()


def _subjects(reader: Reader) -> list[str]:
    """Subjects in the order sent, receipt numbers left out ("Your receipt: thank you")."""
    return [re.sub(r"^Your receipt \S+:", "Your receipt:", e["subject"]) for e in emails_to(reader.member.email)]


def _stripe_subscriptions(reader: Reader) -> list[dict[str, Any]]:
    return list(reader.gateway.list_subscriptions(customer=reader.member.stripe_customer_id))


def _on_digest(db_session, reader: Reader) -> ListStatus | None:
    digest = db_session.scalars(select(Newsletter).where(Newsletter.slug == MEMBERS_LIST)).one()
    row = db_session.scalars(select(ListSubscription).where(
        ListSubscription.newsletter_id == digest.id, ListSubscription.member_id == reader.member.id)).one_or_none()
    return row.status if row is not None else None


def _deliver(client, tap) -> list[dict[str, Any]]:
    """Post every new event to the service, as Stripe would; each must be answered 200."""
    events = tap.new()
    assert set(deliver_all(client, events)) <= {200}
    return events


def _of(reader: Reader, events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    """The reader's events of one type. The sandbox's clock is shared by the module, so the
    subscriptions of earlier tests renew too; their events belong to no member here."""
    return [e for e in events if e["type"] == type_
            and e["data"]["object"].get("customer") == reader.member.stripe_customer_id]


def _to_renewal(sandbox, sub: dict[str, Any]) -> None:
    """Past the period end and the hour before Stripe finalizes and charges the renewal."""
    sandbox.advance(seconds=_period_end(sub) - sandbox.now() + HOUR + 60)


def _authenticate(reader: Reader, session: dict[str, Any], card: str, action: str) -> Any:
    """Pay on the hosted Checkout page with a card whose bank asks for 3-D Secure, then
    complete or fail the authentication on the sandbox's challenge page."""
    asked = pay(reader.sandbox, session["url"], card=card, email=reader.member.email)
    assert asked.status_code == 303 and asked.headers["Location"].endswith(f"/checkout/{session['id']}/authenticate")
    step = urljoin(session["url"], asked.headers["Location"])
    assert "Complete authentication" in reader.sandbox.http.get(step).text
    return reader.sandbox.http.post(step, data={"action": action}, allow_redirects=False)


def _pay_by_bank(reader: Reader, session: dict[str, Any], account: str) -> None:
    done = reader.sandbox.http.post(session["url"], data={
        "payment_method": "us_bank_account", "email": reader.member.email, "account_number": account},
        allow_redirects=False)
    assert done.status_code == 303, done.text


# --- 1. joining with a card that asks for 3-D Secure -----------------------------------------


def test_3d_secure_at_checkout_completed_makes_a_member(client, db_session, reader, tap):
    """The bank asks the reader to authenticate on the hosted Checkout page; once they do, the
    first invoice is paid and they are a member. Card 4000 0025 0000 3155 "requires
    authentication ... on-session payments with this card always require authentication"
    (https://docs.stripe.com/testing#regulatory-cards)."""
    done = _authenticate(reader, reader.checkout(), AUTH_ON_SESSION, "complete")
    assert done.status_code == 303 and "/join/success?session_id=cs_" in done.headers["Location"]
    _deliver(client, tap)
    member = reader.member
    assert member.status is MemberStatus.ACTIVE
    assert has_access(member, utcnow())
    row = _row(db_session, reader)
    assert (row.status, row.plan.code, row.amount) == (SubscriptionStatus.ACTIVE, "monthly-5", 500)
    assert sorted(_subjects(reader)) == [WELCOME_SUBJECT, RECEIPT_SUBJECT]
    assert len(_stripe_subscriptions(reader)) == 1


def test_3d_secure_at_checkout_failed_leaves_the_reader_pending(client, db_session, reader, tap):
    """Failing the bank's challenge leaves the Checkout Session open and makes no subscription
    (https://docs.stripe.com/testing#regulatory-cards): the reader has paid nothing and is
    not a member, and coming back to the success page does not make them one."""
    session = reader.checkout()
    failed = _authenticate(reader, session, AUTH_ON_SESSION, "fail")
    assert failed.status_code == 402 and "unable to authenticate" in failed.text
    _deliver(client, tap)
    page = client.get(f"/join/success?session_id={session['id']}").get_data(as_text=True)
    assert "Welcome, and thank you!" not in page
    member = reader.member
    assert member.status is MemberStatus.PENDING
    assert not has_access(member, utcnow())
    assert access_until(member) is None
    assert db_session.scalars(select(Subscription).where(Subscription.member_id == member.id)).first() is None
    assert _subjects(reader) == []
    assert _stripe_subscriptions(reader) == []


# --- 2. a renewal the bank wants confirmed -----------------------------------------------------


def _renewal_waiting_for_authentication(client, reader, tap, sandbox) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Join with the card that asks for authentication on every payment, reach the renewal,
    and deliver its events: the events, and the renewal invoice waiting for the reader."""
    _authenticate(reader, reader.checkout(), AUTH_ALWAYS, "complete")
    _deliver(client, tap)
    assert reader.member.status is MemberStatus.ACTIVE
    _to_renewal(sandbox, reader.subscription())
    events = _deliver(client, tap)
    [action] = _of(reader, events, "invoice.payment_action_required")
    invoice = reader.gateway.retrieve_invoice(action["data"]["object"]["id"])
    assert (invoice.get("status"), invoice.get("amount_paid")) == ("open", 0)
    return events, invoice


def test_a_renewal_that_needs_authentication_emails_stripes_link_once(client, db_session, reader, tap, sandbox):
    """Card 4000 0027 6000 3184 "requires authentication on all transactions, regardless of how
    the card is set up" (https://docs.stripe.com/testing#regulatory-cards). An off-session
    renewal that needs it leaves the invoice `open`, sends invoice.payment_action_required, and
    the customer pays on the hosted invoice page (`hosted_invoice_url`); the subscription is
    `past_due` meanwhile (https://docs.stripe.com/billing/subscriptions/overview#requires-action).

    The defect: the service ignored invoice.payment_action_required, so the reader was never
    told that their bank was waiting for them, and lost access once the grace period ran out
    while one click on Stripe's page would have paid."""
    events, invoice = _renewal_waiting_for_authentication(client, reader, tap, sandbox)
    member = reader.member
    assert member.status is MemberStatus.PAST_DUE
    assert has_access(member, utcnow())  # the grace period
    confirm = [e for e in emails_to(member.email) if e["subject"] == CONFIRM_SUBJECT]
    assert len(confirm) == 1
    assert invoice["hosted_invoice_url"] in confirm[0]["text"]
    assert _invoice_row(db_session, invoice["id"]).status is InvoiceStatus.OPEN

    deliver_all(client, events)  # Stripe delivers the same events again
    assert _subjects(reader).count(CONFIRM_SUBJECT) == 1

    # The reader follows the link and completes the authentication on Stripe's page.
    paid = sandbox.http.post(invoice["hosted_invoice_url"], data={"action": "complete"})
    assert paid.status_code == 200 and "is paid" in paid.text
    _deliver(client, tap)
    assert member.status is MemberStatus.ACTIVE
    assert has_access(member, utcnow())
    row = _invoice_row(db_session, invoice["id"])
    assert (row.status, row.amount_paid) == (InvoiceStatus.PAID, 500)
    assert _row(db_session, reader).status is SubscriptionStatus.ACTIVE
    assert _subjects(reader).count(CONFIRM_SUBJECT) == 1
    assert len(_stripe_subscriptions(reader)) == 1


def test_a_renewal_that_needs_authentication_is_not_called_a_failed_payment(client, db_session, reader, tap,
                                                                             sandbox):
    """Stripe's subscription events list invoice.payment_failed for an attempt whose PaymentIntent
    needs action too (https://docs.stripe.com/billing/subscriptions/webhooks), and the sandbox
    sends it before invoice.payment_action_required
    (https://docs.stripe.com/billing/subscriptions/overview#requires-action). The invoice alone
    does not say which, so the service reads its payment (the PaymentIntent `requires_action`)
    and does not tell the reader to update a card that works."""
    _renewal_waiting_for_authentication(client, reader, tap, sandbox)
    assert _subjects(reader).count(CONFIRM_SUBJECT) == 1
    assert "Your membership payment didn't go through" not in _subjects(reader)


# --- 3. a bank debit that settles days later ----------------------------------------------------


def test_a_bank_debit_that_fails_never_makes_a_member(client, db_session, reader, tap, sandbox):
    """A delayed payment method completes the Checkout Session with `payment_status` `unpaid`;
    checkout.session.async_payment_failed follows when the debit fails
    (https://docs.stripe.com/payments/checkout/fulfill-orders#delayed-notification; test
    account 000222222227 fails: https://docs.stripe.com/payments/ach-direct-debit/accept-a-payment#test-account-numbers).
    Until it settles the subscription stays `incomplete`
    (https://docs.stripe.com/billing/subscriptions/overview#subscription-statuses)."""
    session = reader.checkout()
    _pay_by_bank(reader, session, BANK_FAILS)
    events = _deliver(client, tap)
    [completed] = _of(reader, events, "checkout.session.completed")
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    # The reader lands back on the site: told the bank payment takes days, not "a few seconds",
    # and the page does not refresh itself for days.
    landing = client.get(f"/join/success?session_id={session['id']}").get_data(as_text=True)
    assert "Your bank payment is on its way" in landing and "few business days" in landing
    assert 'http-equiv="refresh"' not in landing
    member = reader.member
    assert member.status is MemberStatus.PENDING
    assert not has_access(member, utcnow())

    sandbox.advance(days=2, seconds=60)  # the debit settles: it failed
    events = _deliver(client, tap)
    failed = _of(reader, events, "checkout.session.async_payment_failed")
    assert len(failed) == 1
    assert member.status in (MemberStatus.PENDING, MemberStatus.LAPSED)
    assert not has_access(member, utcnow())
    assert access_until(member) is None
    assert WELCOME_SUBJECT not in _subjects(reader)
    assert "Your membership has ended" not in _subjects(reader)  # they never were a member
    deliver_all(client, failed)  # Stripe redelivers: still one email
    assert _subjects(reader).count("Your bank payment didn't go through") == 1
    assert _on_digest(db_session, reader) is None
    sign_in_as(client, member)
    account = client.get("/account").get_data(as_text=True)
    assert "Not a member yet" in account and "Membership ended" not in account


def test_a_bank_debit_that_settles_makes_a_member(client, db_session, reader, tap, sandbox):
    """The same journey with account 000123456789, which succeeds: the member is made when
    checkout.session.async_payment_succeeded (and the paid invoice) arrive, not before
    (https://docs.stripe.com/payments/checkout/fulfill-orders#delayed-notification)."""
    _pay_by_bank(reader, reader.checkout(), BANK_OK)
    _deliver(client, tap)
    assert reader.member.status is MemberStatus.PENDING
    assert not has_access(reader.member, utcnow())
    assert _subjects(reader) == []

    sandbox.advance(days=2, seconds=60)
    events = _deliver(client, tap)
    assert len(_of(reader, events, "checkout.session.async_payment_succeeded")) == 1
    assert reader.member.status is MemberStatus.ACTIVE
    assert has_access(reader.member, utcnow())
    row = _row(db_session, reader)
    assert (row.status, row.amount) == (SubscriptionStatus.ACTIVE, 500)
    assert sorted(_subjects(reader)) == [WELCOME_SUBJECT, RECEIPT_SUBJECT]
    assert _on_digest(db_session, reader) is ListStatus.SUBSCRIBED


# --- 4. a free trial that converts ------------------------------------------------------------


def test_a_trial_gives_access_then_converts_into_the_first_charge(client, db_session, reader, tap, sandbox):
    """Checkout's `subscription_data[trial_period_days]`: the subscription is `trialing` with a
    $0 invoice at the start and the first charge at the trial's end
    (https://docs.stripe.com/billing/subscriptions/trials); `trialing` "transitions
    automatically to `active` when the first payment is made"
    (https://docs.stripe.com/billing/subscriptions/overview#subscription-statuses)."""
    member_id = str(reader.member.id)
    session = _sdk(sandbox).v1.checkout.sessions.create(params={
        "mode": "subscription", "customer": reader.member.stripe_customer_id, "client_reference_id": member_id,
        "metadata": {"member_id": member_id},
        "subscription_data": {"metadata": {"member_id": member_id}, "trial_period_days": 14},
        "line_items": [{"price": reader.price["id"], "quantity": 1}],
        "success_url": "http://localhost/join/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://localhost/join/cancelled"})
    assert pay(sandbox, session.url, email=reader.member.email).status_code == 303
    _deliver(client, tap)
    member = reader.member
    assert member.status is MemberStatus.ACTIVE
    assert has_access(member, utcnow())
    sub = reader.subscription()
    row = _row(db_session, reader)
    assert row.status is SubscriptionStatus.TRIALING
    assert access_until(member) == _at(sub["trial_end"]) == row.current_period_end
    assert _subjects(reader) == [WELCOME_SUBJECT]
    assert _on_digest(db_session, reader) is ListStatus.SUBSCRIBED

    sandbox.advance(seconds=sub["trial_end"] - sandbox.now() + HOUR + 60)  # the trial ends; charged an hour later
    _deliver(client, tap)
    assert member.status is MemberStatus.ACTIVE
    assert has_access(member, utcnow())
    assert row.status is SubscriptionStatus.ACTIVE
    assert row.current_period_end > _at(sub["trial_end"])
    first_charge = reader.gateway.retrieve_subscription(sub["id"])["latest_invoice"]
    invoice = _invoice_row(db_session, first_charge)
    assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == (InvoiceStatus.PAID, 500, "subscription_cycle")
    # The trial's $0 invoice is no contribution; the first charge is, with its receipt.
    assert _subjects(reader) == [WELCOME_SUBJECT, RECEIPT_SUBJECT]
    assert len(_stripe_subscriptions(reader)) == 1


# --- 5. monthly to yearly from the billing portal ---------------------------------------------


@pytest.fixture
def yearly_price(gateway) -> dict[str, Any]:
    return gateway.ensure_price(lookup_key="membership_yearly_50", product_name="Membership: Yearly",
                                amount=5000, currency="usd", interval="year")


def test_switching_to_yearly_in_the_portal_shows_at_once_in_plan_and_revenue(client, db_session, reader, tap,
                                                                               sandbox, yearly_price):
    """The portal lets customers switch plans (https://docs.stripe.com/customer-management);
    changing to a price with a different interval resets the billing period and invoices at once
    (https://docs.stripe.com/billing/subscriptions/billing-cycle#changing,
    https://docs.stripe.com/billing/subscriptions/change-price)."""
    reader.pay()
    _deliver(client, tap)
    sub = reader.subscription()
    switched = sandbox.http.post(f"{portal_url(reader)}/subscriptions/{sub['id']}",
                                 data={"action": "switch", "price": yearly_price["id"]}, allow_redirects=False)
    assert switched.status_code == 303, switched.text
    _deliver(client, tap)
    row = _row(db_session, reader)
    assert row.plan.code == "yearly-50"
    assert (row.amount, row.currency, row.interval, row.interval_count) == (5000, "usd", Interval.YEAR, 1)
    assert row.current_period_end >= _at(sandbox.now()) + timedelta(days=364)
    assert reader.member.status is MemberStatus.ACTIVE
    assert has_access(reader.member, utcnow())
    by_plan = {r.plan: (r.monthly, r.subscriptions) for r in revenue()}
    assert by_plan == {"yearly-50": (round(5000 / 12), 1)}
    assert len(_stripe_subscriptions(reader)) == 1


# --- 6. pausing payments, then resuming -------------------------------------------------------


def test_paused_payments_keep_access_and_charge_nothing_until_resumed(client, db_session, reader, tap, sandbox):
    """"When you pause payment collection, the subscription remains `active` and invoices
    continue to generate, but Stripe doesn't collect payment"; `behavior=void` voids them, and
    unsetting `pause_collection` resumes collection
    (https://docs.stripe.com/billing/subscriptions/pause-payment)."""
    reader.pay()
    _deliver(client, tap)
    sdk = _sdk(sandbox)
    sub = reader.subscription()
    sdk.v1.subscriptions.update(sub["id"], params={"pause_collection": {"behavior": "void"}})
    _deliver(client, tap)
    member = reader.member
    row = _row(db_session, reader)
    assert member.status is MemberStatus.ACTIVE
    assert has_access(member, utcnow())
    assert (row.pause_behavior, row.pause_resumes_at) == ("void", None)
    sign_in_as(client, member)
    assert "payments paused" in client.get("/account").get_data(as_text=True)

    first_end = row.current_period_end
    _to_renewal(sandbox, sub)  # a renewal during the pause
    _deliver(client, tap)
    paused_renewal = reader.gateway.retrieve_invoice(reader.gateway.retrieve_subscription(sub["id"])["latest_invoice"])
    assert (paused_renewal["status"], paused_renewal["amount_paid"]) == ("void", 0)
    assert member.status is MemberStatus.ACTIVE
    assert row.current_period_end > first_end
    assert has_access(member, first_end + timedelta(days=1))  # access goes on past the unpaid renewal
    paid = db_session.scalars(select(Invoice).where(Invoice.member_id == member.id,
                                                    Invoice.status == InvoiceStatus.PAID)).all()
    assert [i.amount_paid for i in paid] == [500]  # only the first payment

    sdk.v1.subscriptions.update(sub["id"], params={"pause_collection": ""})
    _deliver(client, tap)
    assert row.pause_behavior is None
    assert "payments paused" not in client.get("/account").get_data(as_text=True)
    _to_renewal(sandbox, reader.gateway.retrieve_subscription(sub["id"]))
    _deliver(client, tap)
    renewal = _invoice_row(db_session, reader.gateway.retrieve_subscription(sub["id"])["latest_invoice"])
    assert (renewal.status, renewal.amount_paid) == (InvoiceStatus.PAID, 500)
    assert member.status is MemberStatus.ACTIVE
    assert has_access(member, utcnow())
    assert len(_stripe_subscriptions(reader)) == 1


# --- 7. a renewal finalized an hour after the period ends -------------------------------------


def test_a_renewal_draft_then_the_charge_an_hour_later(client, db_session, reader, tap, sandbox):
    """At the end of a period Stripe creates the renewal invoice as a draft (invoice.created)
    and finalizes and charges it "about an hour" later
    (https://docs.stripe.com/billing/subscriptions/overview,
    https://docs.stripe.com/invoicing/integration/automatic-advancement-collection)."""
    reader.pay()
    _deliver(client, tap)
    sub = reader.subscription()
    emails_before = _subjects(reader)
    sandbox.advance(seconds=_period_end(sub) - sandbox.now() + 60)
    events = _deliver(client, tap)
    [created] = _of(reader, events, "invoice.created")
    draft = created["data"]["object"]
    assert draft["status"] == "draft"
    member = reader.member
    assert member.status is MemberStatus.ACTIVE
    assert has_access(member, utcnow())
    assert has_access(member, _at(_period_end(sub)) + timedelta(minutes=30))
    assert db_session.scalars(select(Invoice).where(Invoice.stripe_invoice_id == draft["id"],
                                                    Invoice.status == InvoiceStatus.PAID)).first() is None

    sandbox.advance(seconds=HOUR)
    _deliver(client, tap)
    assert member.status is MemberStatus.ACTIVE
    assert has_access(member, utcnow())
    invoice = _invoice_row(db_session, draft["id"])
    assert (invoice.status, invoice.amount_paid, invoice.billing_reason) == (InvoiceStatus.PAID, 500, "subscription_cycle")
    assert invoice_subscription_id(reader.gateway.retrieve_invoice(draft["id"])) == sub["id"]
    assert _row(db_session, reader).current_period_end > _at(_period_end(sub))
    assert emails_before == [WELCOME_SUBJECT, RECEIPT_SUBJECT]
    assert _subjects(reader) == [*emails_before, RECEIPT_SUBJECT]  # the renewal's receipt, nothing else


# --- 8. a cancellation set for a date after the current period --------------------------------


def test_cancel_at_a_date_keeps_the_member_through_the_renewal_until_that_date(client, db_session, reader, tap,
                                                                                sandbox):
    """`cancel_at` is a date: Stripe renews (and charges) until then, then cancels
    (https://docs.stripe.com/billing/subscriptions/cancel; the SDK's
    SubscriptionUpdateParams.cancel_at: "If set during a future period, this will always cause
    a proration for that period").

    The defect: the service read `cancel_at` as cancel-at-period-end, so a reader whose
    subscription was set to end 45 days ahead lost access (and the members' digest) at the end
    of the first period, while Stripe renewed and charged them for the days up to that date."""
    reader.pay()
    _deliver(client, tap)
    sub = reader.subscription()
    first_end = _at(_period_end(sub))
    cancel_at = sandbox.now() + 45 * DAY
    _sdk(sandbox).v1.subscriptions.update(sub["id"], params={"cancel_at": cancel_at})
    _deliver(client, tap)
    member, row = reader.member, _row(db_session, reader)
    assert member.status is MemberStatus.ACTIVE
    assert row.cancel_at == _at(cancel_at) and not row.cancel_at_period_end
    assert access_until(member) == _at(cancel_at)
    assert has_access(member, first_end + timedelta(seconds=1))
    assert not has_access(member, _at(cancel_at) + timedelta(seconds=1))

    sandbox.advance(days=32)  # the first period ends; the renewal is charged an hour later
    _deliver(client, tap)
    renewal_id = reader.gateway.retrieve_subscription(sub["id"])["latest_invoice"]
    renewal = _invoice_row(db_session, renewal_id)
    assert renewal.status is InvoiceStatus.PAID and renewal.amount_paid > 0
    expire_ended_access(_at(sandbox.now()))  # the worker's job, run at that moment
    assert member.status is MemberStatus.ACTIVE
    assert has_access(member, _at(sandbox.now()))
    assert access_until(member) == _at(cancel_at)
    assert _on_digest(db_session, reader) is ListStatus.SUBSCRIBED

    sandbox.advance(seconds=cancel_at - sandbox.now() + 60)  # the date comes: Stripe cancels
    _deliver(client, tap)
    assert member.status is MemberStatus.LAPSED
    assert not has_access(member, _at(sandbox.now()))
    assert row.status is SubscriptionStatus.CANCELED
    assert _on_digest(db_session, reader) is ListStatus.LAPSED
    assert _subjects(reader).count("Your membership has ended") == 1


# --- 9. a deleted Stripe customer is replaced when the reader joins again ---------------------


def test_a_reader_whose_stripe_customer_was_deleted_joins_again_on_a_new_customer(client, db_session, reader, tap,
                                                                                   sandbox):
    """Deleting a customer "immediately cancels any active subscriptions on the customer" and the
    id cannot be used again (https://docs.stripe.com/api/customers/delete); an idempotency key
    replays its first result for 24 hours (https://docs.stripe.com/api/idempotent_requests).

    The defect: the key for creating the member's customer was the same for the replacement,
    so for 24 hours Stripe replayed the deleted customer and the reader could not join again."""
    reader.pay()
    _deliver(client, tap)
    old_customer = reader.member.stripe_customer_id
    _sdk(sandbox).v1.customers.delete(old_customer)
    _deliver(client, tap)
    assert reader.member.status is MemberStatus.LAPSED

    answer = join(client, reader.member.email)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert "/checkout/cs_" in answer.location
    rejoined = member(reader.member.email)
    assert rejoined.id == reader.member.id
    new_customer = rejoined.stripe_customer_id
    assert new_customer not in (None, old_customer)
    assert not reader.gateway.retrieve_customer(new_customer).get("deleted")
    session_id = answer.location.rsplit("/", 1)[-1]
    assert reader.gateway.retrieve_checkout_session(session_id)["customer"] == new_customer

    paid = pay(sandbox, answer.location, email=rejoined.email)
    assert paid.status_code == 303, paid.text
    _deliver(client, tap)
    assert rejoined.status is MemberStatus.ACTIVE
    assert has_access(rejoined, utcnow())
    live = [s for s in reader.gateway.list_subscriptions(customer=new_customer) if s["status"] == "active"]
    assert len(live) == 1
    assert _row_for(db_session, live[0]["id"]).member_id == rejoined.id


def _row_for(db_session, subscription_id: str) -> Subscription:
    return db_session.scalars(select(Subscription).where(Subscription.stripe_subscription_id == subscription_id)).one()

