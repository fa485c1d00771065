"""Erasure leaves the address nowhere: a scan of every text and JSON column of every table.

The risk: erasure scrubbed only the Stripe events already applied to the
member, so events about their customer that were ignored, failed or not yet
linked (a `customer.updated`, a checkout session, a payment intent with a
receipt email) kept the address and name in their payloads; their sign-in
tokens stayed valid after erasure; and undelivered outbox rows (a dead list
change, a dead outgoing webhook) still held the address and could even be
retried to send it out again. The audit log keeps the member id, never the
address. The one exception is the provider removal the erasure itself queues
(the provider must be told which address leaves); it goes with every
delivered message after OUTBOX_RETENTION_DAYS.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import JSON, String, Text, cast, func, or_, select

from service.db import Base, utcnow
from service.domain.members.erasure import erase_member
from service.domain.members.signin import send_signin_email
from service.domain.newsletter.provider_sync import SYNC_TOPIC
from service.domain.newsletter.subscriptions import resubscribe
from service.domain.outbox import deliver, purge_delivered
from service.domain.staff.actions import edit_member
from service.models import (
    CheckoutAttempt,
    ConsentSource,
    Contribution,
    DedicationType,
    OutboxMessage,
    OutboxStatus,
    SigninToken,
    StripeEvent,
)
from tests.factories import make_contribution, make_staff


@pytest.fixture(scope="module")
def app(sandbox_app):
    return sandbox_app


def _event(n: int, object_id: str, obj: dict, member_id: int | None = None) -> StripeEvent:
    return StripeEvent(stripe_event_id=f"evt_erase_all_{n}", type="x.y", livemode=False, stripe_created_at=utcnow(),
                       object_id=object_id, member_id=member_id, payload={"id": f"evt_erase_all_{n}",
                                                                           "data": {"object": obj}})


def _traces(session, needle: str) -> list[tuple[str, str, object]]:
    """(table, column, primary key) of every row whose text or JSON column holds `needle`."""
    found = []
    spellings = {needle, json.dumps(needle)[1:-1]}
    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)[0]
        for column in table.columns:
            if not isinstance(column.type, String | Text | JSON):
                continue
            as_text = cast(column, Text)
            hits = session.scalars(select(pk).where(or_(*(as_text.contains(s, autoescape=True) for s in spellings))))
            found += [(table.name, column.name, key) for key in hits]
    return found


def test_no_trace_of_the_address_in_any_table_after_erasure(db_session, paying):
    member, _sub, gateway = paying
    resubscribe(member.email, "daily-headlines", ConsentSource.IMPORT)
    db_session.commit()
    email, customer = member.email, member.stripe_customer_id
    db_session.add_all([
        _event(1, customer, {"id": customer, "object": "customer", "email": email, "name": "Ada"}),
        _event(2, "cs_unlinked", {"id": "cs_unlinked", "customer": customer, "customer_details": {"email": email}}),
        _event(3, "pi_gift", {"id": "pi_gift", "receipt_email": email}),
        _event(4, "cus_someone_else", {"id": "cus_someone_else", "email": "other@example.org"}),
    ])
    send_signin_email(member, utcnow())
    # A support user asked to move the membership to a new address; it was never confirmed.
    requested = "ada.new.address@example.org"
    edit_member(member.id, make_staff("support"), gateway, utcnow(), email=requested, name=member.name)
    # A gift they made in someone's memory, asking us to tell that person's family.
    notified = "family.of.someone@example.org"
    make_contribution(member, 2500, dedication_type=DedicationType.MEMORY, dedication_name="Someone",
                      dedication_notify_email=notified)
    db_session.add(CheckoutAttempt(member_id=member.id, kind="one_time", amount=2500, currency="usd",
                                   stripe_checkout_session_id="cs_gift_erase", url="http://sandbox/x",
                                   expires_at=utcnow(), details={"dedication": {"notify_email": notified}}))
    db_session.add_all([
        OutboxMessage(topic=SYNC_TOPIC, key=f"list:9:{email}", status=OutboxStatus.DEAD,
                      payload={"list": "daily-headlines", "email": email, "status": "subscribed"}),
        OutboxMessage(topic="webhook", key="webhook:1", status=OutboxStatus.DEAD,
                      payload={"data": {"email": email}}),
        OutboxMessage(topic="webhook", key="webhook:1", status=OutboxStatus.DELIVERED, delivered_at=utcnow(),
                      payload={"data": {"email": email}}),
    ])
    db_session.commit()
    assert _traces(db_session, email)  # the scan does find it before
    last_outbox = db_session.scalar(select(func.max(OutboxMessage.id)))

    erase_member(member.id, make_staff("admin"), gateway, utcnow())
    db_session.commit()

    left = _traces(db_session, email)
    removals = {m.id for m in db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.id > last_outbox, OutboxMessage.topic == SYNC_TOPIC)) if m.payload["status"] == "unsubscribed"}
    assert {(t, key) for t, _c, key in left} <= {("outbox", i) for i in removals}, left
    assert len(removals) == 2  # one per list the address was on
    assert db_session.scalar(select(func.count()).select_from(SigninToken)
                             .where(SigninToken.member_id == member.id)) == 0
    assert _traces(db_session, requested) == []  # the pending email change went with the rest
    assert _traces(db_session, notified) == []  # and the address the gift's dedication named
    assert db_session.scalar(select(func.count()).select_from(Contribution)
                             .where(Contribution.member_id == member.id)) == 1  # the accounts stay
    untouched = db_session.scalar(select(StripeEvent).where(StripeEvent.stripe_event_id == "evt_erase_all_4"))
    assert untouched.payload["data"]["object"]["email"] == "other@example.org"

    for message_id in removals:  # the provider is told, then retention purges the last copies
        deliver(db_session.get(OutboxMessage, message_id), utcnow())
    purge_delivered(utcnow() + timedelta(days=30))
    db_session.commit()
    assert _traces(db_session, email) == []
