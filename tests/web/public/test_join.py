"""The front page and POST /join, against the Stripe sandbox."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from service.models import CheckoutAttempt, Member, MemberStatus, Plan
from tests.apps import fresh_app, own_limiter
from tests.factories import make_member, make_subscription
from tests.web.readers import emails_to, join, join_and_pay, joining, member, post_form, sign_in_as


@pytest.fixture(scope="module")
def app(sandbox_app):
    """Joining opens a checkout on the sandbox, and paying there makes the member."""
    return sandbox_app


def test_front_page_pitches_membership_and_offers_the_plans(client):
    page = client.get("/").get_data(as_text=True)
    assert "from $5 a month" in page and "members' daily digest" in page
    assert re.search(r'id="plan-monthly-5"[^>]*\bchecked\b', page), "the $5 plan is preselected"
    assert not re.search(r'id="plan-yearly-50"[^>]*\bchecked\b', page)
    assert "$50</span> <span class=\"per\">a year" in page
    assert "Pay what you want" in page and "the minimum is $5 a month" in page
    assert "We use your email for your receipts" in page
    for field in ("name", "email", "amount"):
        assert f'<label for="{field}"' in page
    assert "http://" not in page.replace("http://localhost", "") and "https://" not in page, "no external assets"


def test_join_opens_a_checkout_for_a_new_reader(client, db_session, gateway):
    answer = join(client, "New.Reader@Example.org ", name="New Reader")
    assert answer.status_code == 303 and "/checkout/cs_" in answer.location
    joined = member("new.reader@example.org")
    assert joined.status is MemberStatus.PENDING and joined.name == "New Reader"
    assert joining(client) == joined.id
    customer = gateway.retrieve_customer(joined.stripe_customer_id)
    assert customer["email"] == "new.reader@example.org"
    attempt = db_session.scalars(select(CheckoutAttempt).where(CheckoutAttempt.member_id == joined.id)).one()
    session = gateway.retrieve_checkout_session(attempt.stripe_checkout_session_id)
    assert session["url"] == answer.location and session["client_reference_id"] == str(joined.id)
    assert session["customer"] == joined.stripe_customer_id
    assert session["success_url"] == "http://localhost/join/success?session_id={CHECKOUT_SESSION_ID}"
    assert session["cancel_url"] == "http://localhost/join/cancelled"


def test_double_submit_reuses_the_open_session_and_a_new_amount_does_not(client, db_session):
    first = join(client, "twice@example.org", plan="monthly-pwyw", amount="7.50")
    again = join(client, "twice@example.org", plan="monthly-pwyw", amount="7.50")
    other = join(client, "twice@example.org", plan="monthly-pwyw", amount="8")
    assert first.location == again.location != other.location
    assert db_session.scalar(select(func.count(CheckoutAttempt.id)).where(
        CheckoutAttempt.member_id == member("twice@example.org").id)) == 2


def test_pay_what_you_want_charges_the_amount_typed(client, db_session, sandbox, gateway):
    joined = join_and_pay(client, sandbox, "generous@example.org", plan="monthly-pwyw", amount="12.50")
    assert joined.status is MemberStatus.ACTIVE
    sub = joined.subscriptions[0]
    assert (sub.amount, sub.currency, str(sub.interval)) == (1250, "usd", "month")
    assert sub.plan.code == "monthly-pwyw"


def test_paying_lands_on_the_welcome(client, db_session, sandbox):
    answer = join(client, "welcome@example.org")
    from tests.sandbox.harness import pay

    paid = pay(sandbox, answer.location, email="welcome@example.org")
    page = client.get(paid.headers["Location"].replace("http://localhost", "")).get_data(as_text=True)
    assert "Welcome, and thank you!" in page and "http-equiv=\"refresh\"" not in page
    assert member("welcome@example.org").status is MemberStatus.ACTIVE


def test_a_plan_without_stripe_ids_is_synced_first(client, db_session, gateway):
    plan = db_session.scalars(select(Plan).where(Plan.code == "yearly-50")).one()
    plan.stripe_price_id = plan.stripe_product_id = None
    db_session.commit()
    answer = join(client, "yearly@example.org", plan="yearly-50")
    assert answer.status_code == 303
    assert plan.stripe_price_id and gateway.find_price(plan.stripe_lookup_key)["id"] == plan.stripe_price_id


@pytest.mark.parametrize("amount, message", [
    ("4.99", "The smallest amount is $5 a month."),
    ("7.555", "Enter an amount in dollars, like 7 or 7.50."),
    ("-7", "Enter an amount in dollars, like 7 or 7.50."),
    ("1e3", "Enter an amount in dollars, like 7 or 7.50."),
    ("", "Enter an amount in dollars, like 7 or 7.50."),
    ("99999999", "The largest amount we take online is $10000 a month."),
])
def test_bad_amounts_are_refused_next_to_the_field(client, db_session, amount, message):
    answer = join(client, "amounts@example.org", plan="monthly-pwyw", amount=amount, name="Keep Me")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert f'<p class="field-error" id="amount-error">{message}</p>' in page
    assert re.search(r'id="amount"[^>]*aria-describedby="amount-hint amount-error"', page, re.S)
    assert 'value="Keep Me"' in page and 'value="amounts@example.org"' in page
    assert re.search(r'id="plan-monthly-pwyw"[^>]*\bchecked\b', page), "the chosen plan stays chosen"
    assert db_session.scalar(select(Member).where(Member.email == "amounts@example.org")) is None


def test_email_name_and_plan_are_checked(client, db_session):
    answer = post_form(client, "/join", {"email": "not an email", "name": "", "plan": "platinum"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="email-error">Enter an email address like name@example.org.' in page
    assert 'id="name-error">' in page and 'id="plan-error">Choose one of the plans shown.' in page


def test_an_inactive_plan_cannot_be_chosen(client, db_session):
    plan = db_session.scalars(select(Plan).where(Plan.code == "yearly-50")).one()
    plan.active = False
    db_session.commit()
    answer = join(client, "inactive@example.org", plan="yearly-50")
    assert answer.status_code == 422 and "Choose one of the plans shown." in answer.get_data(as_text=True)


def test_join_without_csrf_token_is_refused(client, db_session):
    answer = client.post("/join", data={"email": "x@example.org", "name": "X", "plan": "monthly-5"})
    assert answer.status_code == 400
    assert db_session.scalar(select(Member).where(Member.email == "x@example.org")) is None


def test_an_existing_pending_members_name_is_never_changed(client, db_session):
    make_member(email="pending@example.org", name="Original Name")
    db_session.commit()
    assert join(client, "pending@example.org", name="Someone Else").status_code == 303
    assert member("pending@example.org").name == "Original Name"


def test_a_member_with_access_gets_a_signin_link_and_the_same_page_as_signin(client, db_session):
    existing = make_member(email="already@example.org", status=MemberStatus.ACTIVE)
    make_subscription(existing)
    db_session.commit()
    answer = join(client, "already@example.org")
    assert answer.status_code == 200 and "Check your inbox" in answer.get_data(as_text=True)
    assert db_session.scalar(select(func.count(CheckoutAttempt.id)).where(CheckoutAttempt.member_id == existing.id)) == 0
    assert [e["kind"] for e in emails_to("already@example.org")] == ["signin"]
    # Signing in with an unknown address answers with the very same page: nothing reveals membership.
    unknown = post_form(client, "/signin", {"email": "already@example.org".replace("already", "nobody")})
    strip = lambda html: re.sub(r'value="[^"]+"|<strong>[^<]+</strong>', "", html)  # noqa: E731
    assert strip(unknown.get_data(as_text=True)) == strip(answer.get_data(as_text=True))


def test_a_signed_in_member_with_access_is_sent_to_the_billing_portal(client, db_session, sandbox):
    paid = join_and_pay(client, sandbox, "portal@example.org")
    sign_in_as(client, paid)
    answer = join(client, "someone.else@example.org")
    assert answer.status_code == 303 and "/portal/bps_" in answer.location, answer.get_data(as_text=True)[-800:]
    assert db_session.scalar(select(Member).where(Member.email == "someone.else@example.org")) is None


def test_a_signed_in_comped_member_is_sent_to_their_account(client, db_session):
    from service.db import utcnow
    from service.domain.members.status import set_status

    comped = make_member(email="comped@example.org", comp_since=utcnow())
    set_status(comped, MemberStatus.COMPED, utcnow())
    db_session.commit()
    sign_in_as(client, comped)
    answer = join(client, "comped@example.org")
    assert answer.status_code == 303 and answer.location.endswith("/account")


def test_join_is_rate_limited_per_email_and_per_address(database_url, db_session):
    with own_limiter(), fresh_app(database_url, RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False) as limited:
        client = limited.test_client()
        # Invalid posts (no plan) are enough: the limit counts attempts, and they touch no gateway.
        same_email = [client.post("/join", data={"email": "flood@example.org"}).status_code for _ in range(6)]
        assert same_email == [422] * 5 + [429]
        others = [client.post("/join", data={"email": f"r{i}@example.org"}).status_code for i in range(6)]
        assert others[:4] == [422] * 4 and others[-1] == 429, "10 a minute from one address"
