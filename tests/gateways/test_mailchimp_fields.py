"""The Mailchimp sync carries what newsrooms segment by: merge fields and tags for a member's status,
plan, join date, renewal date, total given and campaign (against the local Mailchimp stand-in)."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from service.db import utcnow
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
