"""The Mailchimp sync carries what newsrooms segment by: merge fields and tags for a member's status,
plan, join date, renewal date, total given and campaign (against the local Mailchimp stand-in)."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from service.db import utcnow
from service.domain.billing.sync import Cause
from service.domain.giving.contributions import record_checkout_payment
from service.domain.members.status import set_status
from service.domain.newsletter import subscriptions as nl
from service.jobs import deliver_outbox
from service.models import MemberStatus, Newsletter, Plan
from tests.factories import make_contribution, make_member, make_subscription
from tests.gateways.test_newsletter_mailchimp import mailchimp, member_path, provider  # noqa: F401 - fixtures

RENEWAL = datetime(2027, 3, 5, 12, 0, tzinfo=UTC)


def test_a_members_sync_carries_merge_fields_and_tags(db_session, provider, mailchimp):  # noqa: F811 - fixtures
    member = make_member(name="Ada Lovelace", status=MemberStatus.ACTIVE, created_at=datetime(2026, 1, 15, 9, tzinfo=UTC),
                         first_touch={"campaign": "spring", "at": "2026-01-15T09:00:00+00:00"})
    make_subscription(member, period_end=RENEWAL)
    make_contribution(member, 500, refunded_amount=0)
    make_contribution(member, 2500, refunded_amount=500)
    make_contribution(member, 1000, currency="eur")
    nl.resubscribe(member, "daily-headlines", nl.ConsentSource.MEMBER, now=utcnow())
    daily = db_session.scalars(select(Newsletter).where(Newsletter.slug == "daily-headlines")).one()
    deliver_outbox(10, keys=[f"list:{daily.id}:{member.email}"])

    put, tags = mailchimp.requests
    assert (put["method"], put["path"]) == ("PUT", member_path(member.email))
    assert put["json"]["merge_fields"] == {"FNAME": "Ada", "LNAME": "Lovelace", "STATUS": "active", "PLAN": "monthly-5",
                                           "JOINED": "2026-01-15", "RENEWS": "2027-03-05", "GIVEN": "25.00 USD",
                                           "CAMPAIGN": "spring"}
    assert (tags["method"], tags["path"]) == ("POST", member_path(member.email) + "/tags")
    wanted = {t["name"]: t["status"] for t in tags["json"]["tags"]}
    assert wanted["member:active"] == "active" and wanted["member:lapsed"] == "inactive"
    assert wanted["plan:monthly-5"] == "active" and wanted["plan:yearly-50"] == "inactive"
    assert wanted["campaign:spring"] == "active"
    assert {name for name, status in wanted.items() if status == "active"} == {"member:active", "plan:monthly-5",
                                                                               "campaign:spring"}
    assert set(wanted) >= {f"plan:{code}" for code in db_session.scalars(select(Plan.code))}


def test_a_cancelled_member_has_no_renewal_and_an_address_alone_has_no_fields(db_session, provider, mailchimp):  # noqa: F811
    member = make_member(name="Grace", status=MemberStatus.ACTIVE)
    make_subscription(member, period_end=RENEWAL, cancel_at_period_end=True)
    nl.resubscribe(member, "daily-headlines", nl.ConsentSource.MEMBER, now=utcnow())
    nl.resubscribe("someone@example.org", "daily-headlines", nl.ConsentSource.MEMBER, now=utcnow())
    daily = db_session.scalars(select(Newsletter).where(Newsletter.slug == "daily-headlines")).one()
    deliver_outbox(10, keys=[f"list:{daily.id}:{member.email}", f"list:{daily.id}:someone@example.org"])
    puts = {r["json"]["email_address"]: r["json"]["merge_fields"] for r in mailchimp.requests if r["method"] == "PUT"}
    assert puts[member.email]["RENEWS"] == "" and puts[member.email]["GIVEN"] == "0"
    assert puts["someone@example.org"] == {"FNAME": "", "LNAME": ""}
    assert [r["method"] for r in mailchimp.requests].count("POST") == 1  # tags for the member only


def test_a_status_change_or_a_payment_refreshes_the_fields_of_every_list(db_session, provider, mailchimp):  # noqa: F811
    """Segments stay true: a member on a list that does not follow access (the daily headlines)
    is synced again when their status changes and when they pay, not only when they join it."""
    member = make_member(name="Ada Lovelace", status=MemberStatus.ACTIVE)
    make_subscription(member, period_end=RENEWAL)
    nl.resubscribe(member, "daily-headlines", nl.ConsentSource.MEMBER, now=utcnow())
    daily = db_session.scalars(select(Newsletter).where(Newsletter.slug == "daily-headlines")).one()
    key = f"list:{daily.id}:{member.email}"
    deliver_outbox(10, keys=[key])
    mailchimp.requests.clear()

    set_status(member, MemberStatus.PAST_DUE, utcnow())
    db_session.flush()
    deliver_outbox(10, keys=[key])
    puts = [r["json"]["merge_fields"] for r in mailchimp.requests if r["method"] == "PUT"]
    assert [p["STATUS"] for p in puts] == ["past_due"]
    mailchimp.requests.clear()

    session = {"id": "cs_fields", "mode": "payment", "status": "complete", "payment_status": "paid",
               "amount_total": 2500, "currency": "usd", "payment_intent": None, "metadata": {"kind": "one_time"}}
    record_checkout_payment(member, session, None, utcnow(), cause=Cause())  # type: ignore[arg-type]  # no PaymentIntent: no read
    db_session.flush()
    deliver_outbox(10, keys=[key])
    puts = [r["json"]["merge_fields"] for r in mailchimp.requests if r["method"] == "PUT"]
    assert [p["GIVEN"] for p in puts] == ["25.00 USD"]


def test_the_local_provider_queues_no_field_refresh(db_session):
    member = make_member(status=MemberStatus.ACTIVE)
    nl.resubscribe(member, "daily-headlines", nl.ConsentSource.MEMBER, now=utcnow())
    assert nl.refresh_fields(member, utcnow()) == 0
