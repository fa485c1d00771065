"""Staff alerts through the outbox: the daily summary of a seeded day (its figures worked out by
hand below) emailed through a real SMTP server, once however often the job runs; a failed-payment
spike alerted once; dead Stripe events alerted once per set. The Slack side is in
tests/gateways/test_slack_alerts.py."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.db import utcnow
from service.domain.staff import alerts
from service.extensions import db
from service.gateways.mail import mail_from_config
from service.jobs import StaffAlertsJob, deliver_outbox
from service.models import (
    ActivityKind,
    Cancellation,
    CancelOutcome,
    CancelReason,
    GiftStatus,
    InboxStatus,
    Invoice,
    InvoiceStatus,
    MemberActivity,
    MemberStatus,
    OutboxMessage,
    RetentionOffer,
    StripeEvent,
)
from tests.factories import make_contribution, make_gift, make_member
from tests.smtp import body_html, body_text

ALERTS = "alerts@newsroom.example"
DAY = datetime(2026, 7, 14, tzinfo=UTC)  # the day summed up
NOW = datetime(2026, 7, 15, 8, 0, tzinfo=UTC)  # past ALERT_DAILY_HOUR (7) on the day after
_n = itertools.count(1)
A, PE, L = MemberStatus.ACTIVE, MemberStatus.PENDING, MemberStatus.LAPSED


@pytest.fixture
def mail(app: Any, smtp: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Alerts emailed to ALERT_EMAIL through the real SMTP server; no Slack URL."""
    monkeypatch.setitem(app.extensions, "mail", mail_from_config({**app.config, "MAIL_URL": smtp.url}))
    monkeypatch.setitem(app.config, "ALERT_EMAIL", ALERTS)
    monkeypatch.setitem(app.config, "ALERT_WEBHOOK_URL", None)
    smtp.inbox.messages.clear()
    return smtp.inbox


def at(hours: float, base: datetime = DAY) -> datetime:
    return base + timedelta(hours=hours)


def status_changes(*changes: tuple[datetime, MemberStatus, MemberStatus], **fields: Any) -> Any:
    member = make_member(status=changes[-1][2], **fields)
    for when, old, new in changes:
        db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.STATUS_CHANGED, from_status=old,
                                      to_status=new, created_at=when))
    db.session.flush()
    return member


def stripe_event(received_at: datetime, type_: str = "invoice.payment_failed",
                 status: InboxStatus = InboxStatus.APPLIED, **fields: Any) -> StripeEvent:
    n = next(_n)
    row = StripeEvent(stripe_event_id=f"evt_alert{n:06d}", type=type_, livemode=False, stripe_created_at=received_at,
                      payload={"id": f"evt_alert{n:06d}"}, status=status, received_at=received_at, **fields)
    db.session.add(row)
    db.session.flush()
    return row


def invoice(member: Any, paid_at: datetime, attempts: int, amount: int) -> None:
    db.session.add(Invoice(member_id=member.id, stripe_invoice_id=f"in_alert{next(_n):06d}", status=InvoiceStatus.PAID,
                           amount_due=amount, amount_paid=amount, currency="usd", attempt_count=attempts,
                           stripe_created_at=paid_at - timedelta(days=3), paid_at=paid_at))
    db.session.flush()


def seed_day() -> None:
    # Joins: a member's first change to active that day. Ada and Ben join; Cleo came back after
    # lapsing (joined in June); Dan joined the day before, Eve the day after.  -> 2
    status_changes((at(9), PE, A), email="ada@example.org")
    status_changes((at(23.99), PE, A), email="ben@example.org")
    status_changes((at(-24 * 20), PE, A), (at(-24 * 5), A, L), (at(10), L, A), email="cleo@example.org")
    status_changes((at(-0.01), PE, A), email="dan@example.org")
    status_changes((at(24), PE, A), email="eve@example.org")
    # Cancellations: three cancelled that day (too expensive twice, coverage once), one kept by a
    # pause; one cancelled the day before.  -> cancelled 3, kept 1 (pause 1);
    # reasons: too_expensive 2, coverage 1, not_reading 1 (the kept one's reason counts too).
    leavers = [make_member(email=f"leaver{i}@example.org") for i in range(5)]
    for member, hours, reason, offer, outcome, text in [
        (leavers[0], 8, CancelReason.TOO_EXPENSIVE, None, CancelOutcome.CANCELLED, "Too dear for me"),
        (leavers[1], 12, CancelReason.TOO_EXPENSIVE, None, CancelOutcome.CANCELLED, None),
        (leavers[2], 13, CancelReason.COVERAGE, None, CancelOutcome.CANCELLED, None),
        (leavers[3], 14, CancelReason.NOT_READING, RetentionOffer.PAUSE, CancelOutcome.KEPT, None),
        (leavers[4], -2, CancelReason.OTHER, None, CancelOutcome.CANCELLED, None),
    ]:
        db.session.add(Cancellation(member_id=member.id, reason=reason, offer=offer, outcome=outcome, text=text,
                                    created_at=at(hours)))
    # Gifts: one paid for that day; one paid the day before and redeemed that day; one still at
    # Checkout.  -> bought 1, redeemed 1
    giver = make_member(email="giver@example.org")
    make_gift(giver, contribution_id=make_contribution(giver, 1500, paid_at=at(10)).id, created_at=at(9.5))
    make_gift(giver, contribution_id=make_contribution(giver, 1500, paid_at=at(-5)).id, status=GiftStatus.REDEEMED,
              redeemed_at=at(15))
    make_gift(giver, status=GiftStatus.AWAITING_PAYMENT, created_at=at(11))
    # Failed payments: three invoice.payment_failed events that day (one still failing to apply);
    # not: one ignored (not ours), one the day after, an invoice.paid.  -> 3
    stripe_event(at(1))
    stripe_event(at(2))
    stripe_event(at(3), status=InboxStatus.FAILED, attempts=1)
    stripe_event(at(4), status=InboxStatus.IGNORED)
    stripe_event(at(24.5))
    stripe_event(at(5), "invoice.paid")
    # Recovered: paid that day after a failed first attempt: $5.00 on the 2nd, $12.00 on the 3rd;
    # not: paid at the first attempt, or recovered the day before.  -> 2, $17.00
    payer = make_member(email="payer@example.org")
    invoice(payer, at(6), 2, 500)
    invoice(payer, at(7), 3, 1200)
    invoice(payer, at(8), 1, 900)
    invoice(payer, at(-3), 2, 700)


def test_the_daily_summary_of_a_seeded_day_is_emailed_once(db_session, mail):
    seed_day()
    db_session.commit()
    assert StaffAlertsJob()(NOW - timedelta(hours=1, minutes=1)) == 0  # 06:59: not yet
    assert StaffAlertsJob()(NOW) == 1
    assert StaffAlertsJob()(NOW + timedelta(minutes=5)) == 0  # another worker, or the next pass: queued already
    assert deliver_outbox(10, now=NOW, keys=[f"email:{ALERTS}"]) == 1
    assert StaffAlertsJob()(NOW + timedelta(hours=3)) == 0
    deliver_outbox(10, now=NOW + timedelta(hours=3), keys=[f"email:{ALERTS}"])

    [message] = mail.to(ALERTS)
    assert message["Subject"] == "Membership: the day in figures, 2026-07-14"
    text = body_text(message)
    for line in ["Membership, 2026-07-14 (UTC)", "Joined: 2", "Cancelled: 3 (and 1 kept by an offer: pause 1)",
                 "  too_expensive: 2", "  coverage: 1", "  not_reading: 1",
                 '  leaver0@example.org (too_expensive): "Too dear for me"', "  leaver1@example.org (too_expensive)",
                 "  leaver2@example.org (coverage)", "Gift memberships bought: 1", "Gift memberships redeemed: 1",
                 "Failed payments: 3", "Recovered payments: 2 ($17.00)"]:
        assert line in text.splitlines(), line
    assert "leaver3@example.org" not in text and "leaver4@example.org" not in text  # kept; the day before
    assert "other" not in text  # the day before's reason
    html = body_html(message)
    assert "<th scope=\"row\" style=\"text-align: left; padding-right: 1em;\">Joined</th><td>2</td>" in html
    assert "leaver0@example.org (too_expensive): &ldquo;Too dear for me&rdquo;" in html


def test_the_slack_summary_holds_counts_only(db_session, app, monkeypatch):
    monkeypatch.setitem(app.config, "ALERT_EMAIL", ALERTS)
    monkeypatch.setitem(app.config, "ALERT_WEBHOOK_URL", "https://hooks.slack.com/services/T000/B000/XXXX")
    seed_day()
    assert StaffAlertsJob()(NOW) == 2  # the email and the Slack message
    slack = db_session.scalars(select(OutboxMessage).where(OutboxMessage.topic == alerts.SLACK_TOPIC)).one()
    assert slack.key == alerts.SLACK_KEY and slack.dedupe_key == "staff_alert:daily:2026-07-14:slack"
    assert slack.payload == {"alert": "staff_daily_summary", "text": (
        "Membership, 2026-07-14: 2 joined; 3 cancelled and 1 kept by an offer (reasons given: too_expensive 2, "
        "not_reading 1, coverage 1). Gift memberships: 1 bought, 1 redeemed. Payments: 3 failed, 2 recovered.")}
    # Most given first, ties in the cancel flow's order; no addresses, and the URL is read at delivery.
    assert "@" not in slack.payload["text"] and "hooks.slack.com" not in str(slack.payload)


def test_a_quiet_day_still_gets_its_summary_and_the_next_day_its_own(db_session, mail):
    assert StaffAlertsJob()(NOW) == 1
    assert StaffAlertsJob()(NOW + timedelta(days=1)) == 1
    deliver_outbox(10, now=NOW + timedelta(days=1), keys=[f"email:{ALERTS}"])
    subjects = sorted(m["Subject"] for m in mail.to(ALERTS))
    assert subjects == ["Membership: the day in figures, 2026-07-14", "Membership: the day in figures, 2026-07-15"]
    assert "Joined: 0" in body_text(mail.to(ALERTS)[0])


def test_without_alert_email_the_active_admins_get_it(db_session, app, monkeypatch):
    from tests.factories import make_staff

    monkeypatch.setitem(app.config, "ALERT_EMAIL", None)
    monkeypatch.setitem(app.config, "ALERT_WEBHOOK_URL", None)
    chief = make_staff("admin", email="chief@newsroom.example")
    make_staff("support", email="helper@newsroom.example")
    assert StaffAlertsJob()(NOW) >= 1
    keys = set(db_session.scalars(select(OutboxMessage.key).where(
        OutboxMessage.dedupe_key.like("staff_alert:daily:2026-07-14:%"))))
    assert f"email:{chief.email}" in keys and "email:helper@newsroom.example" not in keys


def failures(count: int, start: datetime, span: timedelta) -> None:
    for i in range(count):
        stripe_event(start + span * i / max(count, 1))


def test_a_failed_payment_spike_is_alerted_once_an_hour(db_session, mail):
    now = utcnow().replace(microsecond=0)
    # The week before the last hour: 28 failures, 28/168 = 1/6 an hour. The last hour: 10, the
    # threshold (ALERT_FAILED_PAYMENT_SPIKE=10) and 60 times that average.
    failures(28, now - timedelta(days=7, hours=1), timedelta(days=7))
    failures(10, now - timedelta(minutes=55), timedelta(minutes=50))
    db_session.commit()
    assert alerts.daily.failed_payment_rate(now, alerts.BASELINE) == (10, 28)
    StaffAlertsJob()(now)
    spike = spike_keys(db_session)
    assert spike == [f"staff_alert:failed_payments:{now:%Y-%m-%dT%H}:email:{ALERTS}"]
    failures(5, now + timedelta(minutes=1), timedelta(minutes=20))
    for minutes in (10, 59):  # still spiking, but alerted within the hour (whatever the clock hour)
        assert alerts.failed_payment_spike(now + timedelta(minutes=minutes), [f"email:{ALERTS}"]) == 0
    assert spike_keys(db_session) == spike
    failures(10, now + timedelta(minutes=65), timedelta(minutes=50))  # the spike goes on: alerted again
    assert alerts.failed_payment_spike(now + timedelta(hours=2), [f"email:{ALERTS}"]) == 1
    assert len(spike_keys(db_session)) == 2
    deliver_outbox(10, now=now + timedelta(minutes=59), keys=[f"email:{ALERTS}"])
    [message] = [m for m in mail.to(ALERTS) if m["Subject"].startswith("Failed payments")]
    assert message["Subject"] == "Failed payments: 10 in the last hour"
    assert "10 in the hour to" in body_text(message) and "0.2 an hour on average" in body_text(message)


def spike_keys(db_session) -> list[str]:
    return list(db_session.scalars(select(OutboxMessage.dedupe_key).where(
        OutboxMessage.dedupe_key.like("staff_alert:failed_payments:%"))))


def test_no_spike_below_the_threshold_or_the_ratio(db_session, app, mail, monkeypatch):
    now = utcnow().replace(microsecond=0)
    failures(9, now - timedelta(minutes=50), timedelta(minutes=40))  # 9 < 10
    assert alerts.failed_payment_spike(now, [f"email:{ALERTS}"]) == 0
    # Threshold 2: the last hour's 9 against a week of 504 before it (3 an hour): 9 >= 3 x 3, a spike;
    # with one more failure in the week (505) it is not.
    monkeypatch.setitem(app.config, "ALERT_FAILED_PAYMENT_SPIKE", 2)
    assert alerts.spiking(9, 504) and not alerts.spiking(9, 505)
    failures(505, now - timedelta(days=7, hours=1), timedelta(days=7))
    assert alerts.failed_payment_spike(now, [f"email:{ALERTS}"]) == 0
    assert not spike_keys(db_session)


def test_dead_events_are_alerted_once_per_set_with_how_to_retry(db_session, mail):
    now = utcnow().replace(microsecond=0)
    first = stripe_event(now - timedelta(hours=20), "customer.subscription.updated", InboxStatus.DEAD, attempts=12,
                         last_error="LookupError: no member for cus_123")
    stripe_event(now - timedelta(hours=19), "invoice.paid", InboxStatus.DEAD, attempts=12, last_error="KeyError: 'x'")
    stripe_event(now - timedelta(hours=1), "invoice.paid", InboxStatus.FAILED, attempts=3)  # still retrying
    db_session.commit()
    destinations = [f"email:{ALERTS}"]
    assert alerts.dead_events(now, destinations) == 1
    assert alerts.dead_events(now + timedelta(minutes=1), destinations) == 0  # the same set
    deliver_outbox(10, now=now, keys=[f"email:{ALERTS}"])
    [message] = mail.to(ALERTS)
    assert message["Subject"] == "Stripe events not applied: 2 dead"
    text = body_text(message)
    assert "2 Stripe webhook events failed 12 times" in text and "membership events retry --dead" in text
    assert first.stripe_event_id in text and "LookupError: no member for cus_123" in text

    stripe_event(now, "invoice.payment_failed", InboxStatus.DEAD, attempts=12)  # another dies: a new set
    assert alerts.dead_events(now + timedelta(minutes=2), destinations) == 1
    deliver_outbox(10, now=now + timedelta(minutes=2), keys=[f"email:{ALERTS}"])
    assert [m["Subject"] for m in mail.to(ALERTS)] == ["Stripe events not applied: 2 dead",
                                                        "Stripe events not applied: 3 dead"]
