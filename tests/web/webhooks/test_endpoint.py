"""The endpoint itself: signatures, the inbox, duplicates, events that are not ours."""
from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from service import jobs
from service.domain import outbox
from service.models import InboxStatus, MemberStatus, OutboxMessage, OutboxStatus, StripeEvent
from tests.billing import OLD_SECRET, post_event, sign, stripe_event


def _inbox_count(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(StripeEvent))


def test_forged_stale_missing_and_reserialised_signatures_store_nothing(client, db_session):
    event = stripe_event("invoice.paid", {"id": "in_1", "customer": "cus_x"})
    body = json.dumps(event).encode()
    before = _inbox_count(db_session)
    attempts = [
        {"Stripe-Signature": sign(body, "whsec_forger")},
        {"Stripe-Signature": sign(body, at=int(time.time()) - 301)},
        {},
        {"Stripe-Signature": "t=1,v1=nothex"},
    ]
    for headers in attempts:
        response = client.post("/webhooks/stripe", data=body, content_type="application/json", headers=headers)
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "invalid_signature"
    reserialised = json.dumps(event, indent=1).encode()
    response = client.post("/webhooks/stripe", data=reserialised, content_type="application/json",
                           headers={"Stripe-Signature": sign(body)})
    assert response.status_code == 400
    assert _inbox_count(db_session) == before


def test_the_old_secret_still_verifies_during_rotation(client, db_session):
    event = stripe_event("product.created", {"id": "prod_1"})
    assert post_event(client, event, secret=OLD_SECRET).status_code == 200


def test_unknown_types_are_recorded_and_ignored(client, db_session):
    event = stripe_event("product.created", {"id": "prod_1"})
    response = post_event(client, event)
    assert response.status_code == 200
    row = db_session.scalars(select(StripeEvent).where(StripeEvent.stripe_event_id == event["id"])).one()
    assert row.status is InboxStatus.IGNORED and "no handler" in row.detail


def test_an_unknown_customer_is_recorded_and_changes_nothing(client, db_session):
    event = stripe_event("customer.subscription.updated", {"id": "sub_nobody", "customer": "cus_nobody", "metadata": {}})
    response = post_event(client, event)
    assert response.status_code == 200
    row = db_session.scalars(select(StripeEvent).where(StripeEvent.stripe_event_id == event["id"])).one()
    assert row.status is InboxStatus.IGNORED and "cus_nobody" in row.detail and row.member_id is None


def test_a_live_event_is_ignored_with_a_test_key(client, db_session, reader):
    event = stripe_event("customer.subscription.updated",
                         {"id": "sub_live", "customer": reader.member.stripe_customer_id}, livemode=True)
    assert post_event(client, event).status_code == 200
    row = db_session.scalars(select(StripeEvent).where(StripeEvent.stripe_event_id == event["id"])).one()
    assert row.status is InboxStatus.IGNORED and "livemode" in row.detail


def test_a_duplicate_answers_2xx_and_is_stored_once(client, db_session):
    event = stripe_event("product.created", {"id": "prod_2"})
    before = _inbox_count(db_session)
    assert post_event(client, event).status_code == 200
    assert post_event(client, event).status_code == 200
    assert _inbox_count(db_session) == before + 1


def test_no_csrf_no_login_no_redirect(client, db_session):
    response = post_event(client, stripe_event("product.created", {"id": "prod_3"}))
    assert response.status_code == 200 and "Location" not in response.headers


def test_a_storage_failure_answers_5xx_so_stripe_retries(database_url):
    from service import create_app
    from tests.billing import SECRET
    from tests.conftest import config_for_tests

    unreachable = create_app(config_for_tests("postgresql+psycopg://postgres@127.0.0.1:1/gone",
                                              STRIPE_WEBHOOK_SECRET=SECRET))
    response = post_event(unreachable.test_client(), stripe_event("invoice.paid", {"id": "in_1"}))
    assert response.status_code >= 500
    assert response.get_json()["error"]["code"] == "internal_error"
    unreachable.extensions["db_engine"].dispose()


def test_the_answer_waits_for_no_email_or_list_sync(app, client, db_session, reader, tap, monkeypatch):
    """Applying a checkout queues the welcome email and the digest's list sync; the webhook
    answers without delivering them, even where other requests deliver what they queued at once
    (OUTBOX_DELIVER_INLINE): the worker sends them. https://docs.stripe.com/webhooks#acknowledge-events-immediately"""
    monkeypatch.setitem(app.config, "OUTBOX_DELIVER_INLINE", True)
    sent: list[str] = []
    for topic in list(outbox.HANDLERS):
        monkeypatch.setitem(outbox.HANDLERS, topic, lambda payload, topic=topic: sent.append(topic))
    reader.pay()
    for e in tap.new():
        assert post_event(client, e).status_code == 200
    assert reader.member.status is MemberStatus.ACTIVE
    assert sent == []
    queued = db_session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)).all()
    assert {m.topic for m in queued} >= {"email", "newsletter.sync"}
    assert jobs.deliver_outbox(100) == len(queued)
    assert sorted(sent) == sorted(m.topic for m in queued)
