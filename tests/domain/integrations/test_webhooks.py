"""Outgoing webhooks, end to end through the outbox to a real receiver that checks signatures with
the documented recipe only: publishing in the change's transaction, signing, backoff on a moved
clock, ordering, the three-day rule and its alert email, rotation, replay, erasure."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.db import utcnow
from service.domain.billing.join import new_member
from service.domain.billing.sync import Cause
from service.domain.giving.contributions import apply_refund
from service.domain.integrations import endpoints, webhooks
from service.domain.members.csv_io import import_members
from service.domain.members.erasure import erase_member
from service.domain.members.status import set_status
from service.domain.newsletter.subscriptions import resubscribe
from service.domain.staff.actions import edit_member
from service.extensions import db
from service.gateways.mail import mail_from_config
from service.gateways.outgoing_webhooks import WebhookSender
from service.jobs import deliver_outbox
from service.models import AuditEntry, ConsentSource, Member, MemberStatus, OutboxMessage, WebhookEvent
from service.schemas.contribution import ContributionOut
from service.schemas.member import MemberOut
from tests.factories import make_contribution, make_member, make_staff
from tests.smtp import body_text


def deliver(hook, now) -> int:
    """The worker's outbox pass at `now`, for this endpoint's messages only."""
    return deliver_outbox(50, now=now, keys=[f"webhook:{hook.id}"])


def queued(hook) -> int:
    return select_count(OutboxMessage.key == f"webhook:{hook.id}")


def select_count(condition) -> int:
    return db.session.scalar(select(func.count(OutboxMessage.id)).where(condition))


def log(hook) -> list[tuple]:
    """The endpoint's log, oldest first: (type, attempt, outcome, status)."""
    return [(d.event.type, d.row.attempt, str(d.row.outcome), d.row.status_code)
            for d in reversed(endpoints.deliveries(hook.id))]


def test_an_event_reaches_the_receiver_signed_as_the_docs_say(db_session, endpoint, receiver):
    hook = endpoint("member.created")
    now = utcnow()
    member = new_member("ada@example.org", "Ada Lovelace", now, source="join form")
    assert deliver(hook, now) == 1

    [got] = receiver.received
    assert got.verified and got.status == 200 and got.path == "/hooks/membership"
    event = got.event
    assert set(event) == {"id", "type", "created", "data"}
    assert event["id"].startswith("evt_") and event["type"] == "member.created"
    assert event["created"] == int(now.timestamp())
    assert event["data"] == {"member": MemberOut().dump(member)}  # the API's own member JSON
    assert got.signature.startswith("t=") and got.signature.count(",v1=") == 1
    # The recipe refuses what was not signed with the secret, or was changed on the way.
    assert not receiver.verify(got.body + b" ", got.signature, receiver.secret)
    assert not receiver.verify(got.body, got.signature, "whsec_someone_else")
    assert log(hook) == [("member.created", 1, "succeeded", 200)]
    row = endpoints.deliveries(hook.id)[0].row
    assert row.response_excerpt == '{"received": true}' and row.latency_ms is not None and row.latency_ms >= 0


def test_events_are_written_in_the_transaction_of_their_change(db_session, endpoint):
    hook = endpoint("member.status_changed")
    member = make_member()
    db_session.commit()
    savepoint = db_session.begin_nested()
    set_status(member, MemberStatus.COMPED, utcnow(), detail="comp")
    assert queued(hook) == 1
    savepoint.rollback()
    assert queued(hook) == 0
    assert db_session.scalar(select(func.count(WebhookEvent.id)).where(WebhookEvent.member_id == member.id)) == 0


def test_only_subscribed_enabled_endpoints_get_an_event(db_session, endpoint, receiver):
    members_only = endpoint("member.status_changed")
    gifts_only = endpoint("gift.purchased")
    everything = endpoint("*")
    off = endpoint("*")
    endpoints.set_enabled(make_staff("admin"), off.id, False, utcnow())
    member = make_member()
    set_status(member, MemberStatus.COMPED, utcnow())
    assert (queued(members_only), queued(gifts_only), queued(everything), queued(off)) == (1, 0, 1, 0)
    event = db_session.scalars(select(WebhookEvent).where(WebhookEvent.member_id == member.id)).one()
    assert '"previous_status":"pending"' in event.body and '"status":"comped"' in event.body
    with pytest.raises(ValueError, match="unknown webhook event type"):
        webhooks.publish("member.deleted", {}, now=utcnow())


def test_a_failing_receiver_gets_every_event_once_in_order_after_backoff(db_session, endpoint, receiver):
    hook = endpoint("member.created", "member.status_changed")
    receiver.answers.extend([500, 503])
    now = utcnow()
    member = new_member("grace@example.org", "Grace Hopper", now, source="join form")
    set_status(member, MemberStatus.COMPED, now)
    db_session.commit()

    assert deliver(hook, now) == 1  # the first fails; the second waits behind it
    db_session.refresh(hook)
    assert hook.failing_since == now and hook.enabled
    assert deliver(hook, now + timedelta(seconds=30)) == 0  # backoff: not due yet
    assert deliver(hook, now + timedelta(minutes=2)) == 1  # fails again
    assert deliver(hook, now + timedelta(minutes=10)) == 2  # succeeds, and the second follows
    assert deliver(hook, now + timedelta(days=1)) == 0  # nothing left, nothing sent twice

    assert [r.status for r in receiver.received] == [500, 503, 200, 200]
    assert [e["type"] for e in receiver.events()] == ["member.created", "member.status_changed"]
    assert len({e["id"] for e in receiver.events()}) == 2
    assert log(hook) == [("member.created", 1, "failed", 500), ("member.created", 2, "failed", 503),
                         ("member.created", 3, "succeeded", 200), ("member.status_changed", 1, "succeeded", 200)]
    db_session.refresh(hook)
    assert hook.failing_since is None and hook.last_success_at == now + timedelta(minutes=10)


def test_an_endpoint_failing_for_three_days_is_disabled_and_the_alert_is_emailed(
        db_session, app, endpoint, receiver, smtp, monkeypatch):
    monkeypatch.setitem(app.extensions, "mail", mail_from_config({**app.config, "MAIL_URL": smtp.url}))
    monkeypatch.setitem(app.config, "ALERT_EMAIL", "alerts@newsroom.example")
    smtp.inbox.messages.clear()
    hook = endpoint("member.created")
    receiver.answers.extend([500] * 50)
    now = utcnow()
    new_member("linus@example.org", "Linus", now, source="join form")
    for hours in (0, 1, 6, 24, 48, 71):  # past OUTBOX_MAX_ATTEMPTS' pace: it keeps trying
        deliver(hook, now + timedelta(hours=hours))
    db_session.refresh(hook)
    assert hook.enabled and hook.failing_since == now

    assert deliver(hook, now + timedelta(hours=72, minutes=1)) == 1
    db_session.refresh(hook)
    assert not hook.enabled and hook.disabled_reason.startswith("every delivery failed since")
    assert "answered HTTP 500" in hook.disabled_reason
    assert deliver(hook, now + timedelta(days=5)) == 0  # that message is finished: nothing more is sent
    new_member("later@example.org", "Later", now + timedelta(days=4), source="join form")
    assert queued(hook) == 1  # only the old one: a disabled endpoint gets no new events

    deliver_outbox(10, now=now + timedelta(hours=73), keys=["email:alerts@newsroom.example"])
    [mail] = smtp.inbox.to("alerts@newsroom.example")
    assert mail["Subject"] == f"Webhook endpoint disabled: {hook.url}"
    text = body_text(mail)
    assert hook.url in text and "answered HTTP 500" in text and f"/staff/webhooks/{hook.id}" in text


def test_without_alert_email_every_active_admin_is_told(db_session, app, endpoint, monkeypatch):
    monkeypatch.setitem(app.config, "ALERT_EMAIL", "")
    chief = make_staff("admin", email="chief@newsroom.example")
    make_staff("admin", email="gone@newsroom.example", active=False)
    make_staff("support", email="helper@newsroom.example")
    recipients = webhooks.alert_recipients()
    assert chief.email in recipients
    assert "gone@newsroom.example" not in recipients and "helper@newsroom.example" not in recipients
    hook = endpoint("*")
    hook.failing_since = utcnow() - timedelta(days=3)
    webhooks.disable_failing(hook, "answered HTTP 502", utcnow())
    assert select_count(OutboxMessage.key == f"email:{chief.email}") == 1


def test_a_disabled_endpoint_gets_nothing_still_queued_and_says_so_in_its_log(db_session, endpoint, receiver):
    hook = endpoint("*")
    now = utcnow()
    new_member("queued@example.org", "Queued", now, source="join form")
    endpoints.set_enabled(make_staff("admin"), hook.id, False, now)
    assert deliver(hook, now) == 1
    assert receiver.received == []
    assert log(hook) == [("member.created", 1, "skipped", None)]


def test_the_address_is_checked_again_at_delivery(db_session, app, endpoint, receiver, monkeypatch):
    """Registered while loopback was allowed; now it is not (as when DNS is rebound to an inside address)."""
    hook = endpoint("member.created")
    monkeypatch.setitem(app.extensions, "webhooks", WebhookSender(allow_private=False, require_https=False))
    now = utcnow()
    new_member("rebound@example.org", "Rebound", now, source="join form")
    deliver(hook, now)
    assert receiver.received == []
    [row] = [d.row for d in endpoints.deliveries(hook.id)]
    assert str(row.outcome) == "failed" and row.status_code is None
    assert row.error.startswith("refused:") and "127.0.0.1" in row.error and "not a public address" in row.error


def test_a_rotated_secret_signs_beside_the_new_one_for_a_day(db_session, endpoint, receiver):
    hook = endpoint("member.created")
    old = receiver.secret
    now = utcnow()
    _, new = endpoints.rotate_secret(make_staff("admin"), hook.id, now)
    assert new.startswith("whsec_") and new != old
    new_member("first@example.org", "First", now, source="join form")
    deliver(hook, now)
    [during] = receiver.received
    assert during.signature.count("v1=") == 2
    assert receiver.verify(during.body, during.signature, old) and receiver.verify(during.body, during.signature, new)

    later = now + timedelta(hours=25)
    new_member("second@example.org", "Second", later, source="join form")
    deliver(hook, later)
    after = receiver.received[1]
    assert after.signature.count("v1=") == 1
    assert receiver.verify(after.body, after.signature, new) and not receiver.verify(after.body, after.signature, old)
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "webhook_endpoint.secret_rotated")).one()
    assert old not in str(entry.after) and new not in str(entry.after)


def test_any_delivery_can_be_replayed(db_session, endpoint, receiver):
    hook = endpoint("member.created")
    admin = make_staff("admin")
    now = utcnow()
    new_member("again@example.org", "Again", now, source="join form")
    deliver(hook, now)
    [first] = endpoints.deliveries(hook.id)
    event = endpoints.replay(admin, hook.id, first.row.id, now + timedelta(minutes=1))
    assert deliver(hook, now + timedelta(minutes=1)) == 1
    assert [r.event["id"] for r in receiver.received] == [event.public_id, event.public_id]
    assert receiver.received[0].body == receiver.received[1].body and all(r.verified for r in receiver.received)
    latest = endpoints.deliveries(hook.id)[0].row
    assert latest.replay and latest.attempt == 2 and str(latest.outcome) == "succeeded"
    audit = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "webhook_delivery.replayed")).one()
    assert audit.staff_user_id == admin.id and audit.after["event_id"] == event.public_id


def test_newsletter_contribution_and_refund_events_carry_the_public_json(db_session, app, endpoint, receiver):
    hook = endpoint("newsletter.subscription_changed", "contribution.created", "contribution.refunded")
    now = utcnow()
    member = make_member(email="reader@example.org")
    resubscribe(member, "daily-headlines", ConsentSource.MEMBER, now=now)
    contribution = make_contribution(member, 2500)
    webhooks.publish("contribution.created", {"contribution": contribution}, now=now)
    apply_refund(member, {"id": contribution.stripe_charge_id, "payment_intent": contribution.stripe_payment_intent_id,
                          "amount_refunded": 1000}, app.extensions["payments"], now, cause=Cause())
    deliver(hook, now)
    subscription, created, refunded = receiver.events()
    assert subscription["type"] == "newsletter.subscription_changed"
    assert subscription["data"]["subscription"] == {"newsletter": "daily-headlines", "email": "reader@example.org",
                                                    "status": "subscribed", "previous_status": None,
                                                    "member_id": member.id, "source": "member"}
    assert created["data"]["contribution"]["amount"] == 2500 and created["data"]["contribution"]["refunded_amount"] == 0
    assert refunded["type"] == "contribution.refunded"
    assert refunded["data"] == {"contribution": ContributionOut().dump(contribution)}
    assert refunded["data"]["contribution"]["refunded_amount"] == 1000


def test_erasure_scrubs_the_events_stored_about_the_member(db_session, endpoint):
    hook = endpoint("*")
    now = utcnow()
    member = new_member("private@example.org", "Private Person", now, source="join form")
    resubscribe("private@example.org", "daily-headlines", ConsentSource.MEMBER, now=now)  # names only the address
    assert webhooks.forget_member(member) == 2
    bodies = list(db_session.scalars(select(WebhookEvent.body).where(WebhookEvent.member_id == member.id)))
    assert len(bodies) == 2
    assert all("private@example.org" not in b and "Private Person" not in b and '"erased":true' in b for b in bodies)
    assert queued(hook) == 2  # still delivered, as skeletons


def test_edits_imports_and_erasure_are_published(db_session, app, endpoint, receiver):
    hook = endpoint("member.created", "member.updated", "member.erased")
    admin = make_staff("admin")
    gateway = app.extensions["payments"]  # never called: these members have nothing at Stripe
    now = utcnow()
    assert import_members(["email,name\n", "imported@example.org,Imported Reader\n"], now).created == 1
    member = db_session.scalars(select(Member).where(Member.email == "imported@example.org")).one()
    edit_member(member.id, admin, gateway, now, email=member.email, name="Renamed Reader")
    edit_member(member.id, admin, gateway, now, email="moved@example.org", name="Renamed Reader", override=True)
    erase_member(member.id, admin, gateway, now)
    deliver(hook, now)

    created, renamed, moved, erased = receiver.events()
    assert created["type"] == "member.created" and renamed["type"] == moved["type"] == "member.updated"
    # Erasing scrubbed what was stored about them before it went out; only the erasure names them, anonymised.
    assert renamed["data"] == moved["data"] == created["data"] == {"erased": True}
    assert erased["type"] == "member.erased"
    assert erased["data"]["member"]["id"] == member.id and erased["data"]["member"]["email"].startswith("erased-")
    assert all("imported@example.org" not in r.body.decode() and "moved@example.org" not in r.body.decode()
               for r in receiver.received)


def test_edits_carry_what_was_there_before(db_session, app, endpoint, receiver):
    hook = endpoint("member.updated")
    admin = make_staff("admin")
    member = make_member(email="before@example.org", name="Before")
    now = utcnow()
    edit_member(member.id, admin, app.extensions["payments"], now, email=member.email, name="After")
    edit_member(member.id, admin, app.extensions["payments"], now, email="after@example.org", name="After", override=True)
    deliver(hook, now)
    renamed, moved = receiver.events()
    assert renamed["data"]["previous"] == {"name": "Before"} and renamed["data"]["member"]["name"] == "After"
    assert moved["data"]["previous"] == {"email": "before@example.org"}
    assert moved["data"]["member"]["email"] == "after@example.org"


def test_erasure_leaves_events_naming_a_longer_address_alone(db_session, endpoint):
    endpoint("*")
    now = utcnow()
    new_member("aa@example.org", "Someone Else", now, source="join form")
    leaving = new_member("a@example.org", "Leaving", now, source="join form")
    webhooks.forget_member(leaving)
    kept = [b for b in db_session.scalars(select(WebhookEvent.body)) if "aa@example.org" in b]
    assert len(kept) == 1


def test_events_and_their_log_go_after_thirty_days_and_a_queued_delivery_then_sends_nothing(db_session, endpoint, receiver):
    hook = endpoint("*")
    now = utcnow()
    new_member("old@example.org", "Old News", now, source="join form")
    assert deliver(hook, now) == 1 and len(log(hook)) == 1
    new_member("queued@example.org", "Still Queued", now, source="join form")
    assert webhooks.purge_old_events(now + timedelta(days=29)) == 0
    assert webhooks.purge_old_events(now + timedelta(days=31)) == 2
    assert log(hook) == [] and db_session.scalar(select(func.count(WebhookEvent.id))) == 0
    before = len(receiver.received)
    assert deliver(hook, now + timedelta(days=31)) == 1  # handled: the event is gone, nothing sent
    assert len(receiver.received) == before
