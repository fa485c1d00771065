"""Staff alerts (DESIGN.md "Insight and retention"), queued in the outbox by the worker's
`staff_alerts` job (`check`), each at most once however many workers run it:

- a **daily summary** of the previous UTC day (insight/daily.py: joins, cancellations with their
  reasons, gifts bought and redeemed, failed and recovered payments), once ALERT_DAILY_HOUR (UTC)
  has come; once per day;
- a **failed-payment spike**: at least ALERT_FAILED_PAYMENT_SPIKE failed payments in the last
  hour and at least SPIKE_RATIO times the hourly average of the BASELINE before it; at most one
  an hour, again each hour the spike lasts;
- **dead Stripe events** (failed INBOX_MAX_ATTEMPTS times, no more retries): once for each set
  of dead events, named by its newest event and its size, with how to retry them. A set that
  was reported is not reported again while that alert is kept (OUTBOX_RETENTION_DAYS): events
  revived with `membership events retry --dead` that die again as the same set are not.

Each alert is an email to every address of `alert_recipients()` (ALERT_EMAIL, else every
active admin) with the detail, member addresses included, and a message of counts only to the
Slack-compatible incoming webhook ALERT_WEBHOOK_URL when set (`{"text": ...}`, the outbox topic
`staff_alert.slack`, delivered with the outbox's backoff by the outgoing webhooks' sender, so
its address is checked as theirs are). "Once" is the outbox's dedupe key, one per alert and
destination (`staff_alert:daily:2026-07-14:slack`): two workers that compute the same alert
queue it once. Nothing here says anything about cards or secrets. Everything flushes; the job
commits.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, render_template
from sqlalchemy import func, select

from service.domain.emails import EMAIL_TOPIC
from service.domain.insight import daily
from service.domain.integrations.webhooks import alert_recipients
from service.domain.outbox import already_queued, enqueue, handles
from service.extensions import db
from service.gateways import webhook_sender
from service.gateways.mail import Email
from service.gateways.outgoing_webhooks import UnsafeUrl
from service.logs import log_event
from service.models import InboxStatus, OutboxMessage, StripeEvent

logger = logging.getLogger(__name__)
SLACK_TOPIC = "staff_alert.slack"
SLACK_KEY = "staff_alert:slack"  # Slack messages go out one at a time, in the order queued
SLACK = "slack"
SPIKE_RATIO = 3
BASELINE = timedelta(days=7)
DEAD_LISTED = 20  # dead events listed one by one in the email
MAX_DEDUPE_KEY = 255


@dataclass
class Alert:
    id: str  # the dedupe keys' stem
    kind: str
    subject: str
    text: str
    html: str | None
    slack: str  # counts only


class SlackFailed(Exception):
    """The incoming webhook did not answer 2xx; retried with the outbox's backoff."""


class SlackRefused(SlackFailed):
    """ALERT_WEBHOOK_URL cannot be used (a private address, or Slack refused the message as such):
    the message is dead at once, with the reason, for staff to fix the setting and retry it."""

    permanent = True


# --- the job's pass -----------------------------------------------------------------------------


def check(now: datetime) -> int:
    """Queue whichever alerts are due at `now`; returns how many messages were queued."""
    destinations = _destinations()
    if not destinations:
        return 0
    return daily_summary(now, destinations) + failed_payment_spike(now, destinations) + dead_events(now, destinations)


def daily_summary(now: datetime, destinations: list[str]) -> int:
    """The previous UTC day's summary, once ALERT_DAILY_HOUR has come."""
    if now.hour < current_app.config["ALERT_DAILY_HOUR"]:
        return 0
    day = (now - timedelta(days=1)).date()
    alert_id = f"staff_alert:daily:{day.isoformat()}"
    if _sent(alert_id, destinations):
        return 0
    figures = daily.day_figures(day)
    context = {"f": figures, "base_url": current_app.config["BASE_URL"]}
    reasons = ", ".join(f"{reason} {n}" for reason, n in figures.reasons_given.items())
    cancellations = figures.cancellations
    slack = (f"Membership, {day.isoformat()}: {figures.joins} joined; {cancellations.cancelled} cancelled and "
             f"{cancellations.kept} kept by an offer" + (f" (reasons given: {reasons})" if reasons else "") + ". "
             f"Gift memberships: {figures.gifts_purchased} bought, {figures.gifts_redeemed} redeemed. "
             f"Payments: {figures.failed_payments} failed, {figures.recovered} recovered.")
    alert = Alert(alert_id, "staff_daily_summary", f"Membership: the day in figures, {day.isoformat()}",
                  render_template("staff/email/daily_summary.txt", **context),
                  render_template("staff/email/daily_summary.html", **context), slack)
    return send(alert, destinations, now)


def spiking(last_hour: int, before: int) -> bool:
    """At least ALERT_FAILED_PAYMENT_SPIKE, and at least SPIKE_RATIO times the hourly average of
    BASELINE (`before` is that baseline's total): integers, so no rounding decides it."""
    hours = int(BASELINE / timedelta(hours=1))
    return last_hour >= current_app.config["ALERT_FAILED_PAYMENT_SPIKE"] and last_hour * hours >= SPIKE_RATIO * before


def failed_payment_spike(now: datetime, destinations: list[str]) -> int:
    """One alert per clock hour at most, and none within an hour of the previous one."""
    alert_id = f"staff_alert:failed_payments:{now:%Y-%m-%dT%H}"
    previous = f"staff_alert:failed_payments:{now - timedelta(hours=1):%Y-%m-%dT%H}"
    if _sent(alert_id, destinations) or _queued_since(previous, destinations, now - timedelta(hours=1)):
        return 0
    last_hour, before = daily.failed_payment_rate(now, BASELINE)
    if not spiking(last_hour, before):
        return 0
    average = before / (BASELINE / timedelta(hours=1))
    context = {"last_hour": last_hour, "average": average, "ratio": SPIKE_RATIO, "now": now,
               "threshold": current_app.config["ALERT_FAILED_PAYMENT_SPIKE"], "base_url": current_app.config["BASE_URL"]}
    slack = (f"Failed payments are spiking: {last_hour} in the last hour, against {average:.1f} an hour "
             f"over the previous {BASELINE.days} days.")
    alert = Alert(alert_id, "staff_failed_payment_spike", f"Failed payments: {last_hour} in the last hour",
                  render_template("staff/email/failed_payment_spike.txt", **context), None, slack)
    log_event(logger, "staff_alert.failed_payment_spike", level=logging.WARNING, last_hour=last_hour, before=before)
    return send(alert, destinations, now)


def dead_events(now: datetime, destinations: list[str]) -> int:
    """An alert for a set of dead Stripe events not reported before."""
    count, newest = db.session.execute(select(func.count(StripeEvent.id), func.max(StripeEvent.id))
                                       .where(StripeEvent.status == InboxStatus.DEAD)).one()
    if not count:
        return 0
    alert_id = f"staff_alert:dead_events:{newest}:{count}"
    if _sent(alert_id, destinations):
        return 0
    listed = list(db.session.scalars(select(StripeEvent).where(StripeEvent.status == InboxStatus.DEAD)
                                     .order_by(StripeEvent.id.desc()).limit(DEAD_LISTED)))
    context = {"count": count, "events": listed, "attempts": current_app.config["INBOX_MAX_ATTEMPTS"],
               "base_url": current_app.config["BASE_URL"]}
    slack = (f"{count} Stripe webhook event(s) failed {context['attempts']} times and are no longer retried. "
             "Fix the cause, then run `membership events retry --dead`.")
    alert = Alert(alert_id, "staff_dead_events", f"Stripe events not applied: {count} dead",
                  render_template("staff/email/dead_events.txt", **context), None, slack)
    return send(alert, destinations, now)


# --- queueing -----------------------------------------------------------------------------------


def send(alert: Alert, destinations: list[str], now: datetime) -> int:
    """Queue `alert` for each destination that has not had it; returns how many were queued."""
    queued = 0
    for destination in destinations:
        dedupe_key = _dedupe_key(alert.id, destination)
        if destination == SLACK:
            message = enqueue(SLACK_TOPIC, SLACK_KEY, {"text": alert.slack, "alert": alert.kind}, dedupe_key, now=now)
        else:
            address = destination.removeprefix("email:")
            email = Email(to=address, subject=alert.subject[:200], text=alert.text, html=alert.html, kind=alert.kind)
            message = enqueue(EMAIL_TOPIC, f"email:{address}", email.to_payload(), dedupe_key, now=now)
        queued += message is not None
    if queued:
        log_event(logger, "staff_alert.queued", alert=alert.kind, messages=queued)
    return queued


def _destinations() -> list[str]:
    slack = [SLACK] if current_app.config.get("ALERT_WEBHOOK_URL") else []
    return slack + [f"email:{address}" for address in alert_recipients()]


def _dedupe_key(alert_id: str, destination: str) -> str:
    key = f"{alert_id}:{destination}"
    if len(key) <= MAX_DEDUPE_KEY:
        return key
    return f"{alert_id}:{hashlib.sha256(destination.encode()).hexdigest()}"


def _sent(alert_id: str, destinations: list[str]) -> bool:
    """Whether every destination has had this alert (so it need not be worked out again)."""
    return all(already_queued(_dedupe_key(alert_id, d)) for d in destinations)


def _queued_since(alert_id: str, destinations: list[str], since: datetime) -> bool:
    keys = [_dedupe_key(alert_id, d) for d in destinations]
    latest = db.session.scalar(select(func.max(OutboxMessage.created_at)).where(OutboxMessage.dedupe_key.in_(keys)))
    return latest is not None and latest > since


# --- delivering to Slack --------------------------------------------------------------------------


# Slack answers 4xx for a URL or message that will not work however often it is sent (404
# no_service, 403 invalid_token, 410 channel_is_archived...), except a timeout and its rate limit.
SLACK_RETRIED = (408, 429)


@handles(SLACK_TOPIC)
def post_to_slack(payload: dict[str, Any]) -> None:
    """Outbox handler: POST `{"text": ...}` to ALERT_WEBHOOK_URL (read now: the URL is a secret and
    never stored in the outbox). Raises SlackRefused for an address that is not allowed or an
    answer that will not change, SlackFailed (retried) otherwise. Nothing is sent when the setting
    was removed since the alert was queued."""
    url = current_app.config.get("ALERT_WEBHOOK_URL")
    if not url:
        log_event(logger, "staff_alert.slack_skipped", reason="ALERT_WEBHOOK_URL is not set")
        return
    sender = webhook_sender()
    try:
        sender.check_url(url)
    except UnsafeUrl as exc:
        raise SlackRefused(f"ALERT_WEBHOOK_URL refused: {exc}") from None
    body = json.dumps({"text": payload["text"]}, ensure_ascii=False).encode()
    answer = sender.post(url, body, {})
    if answer.ok:
        return
    problem = answer.error or f"answered HTTP {answer.status}: {answer.excerpt[:100]}"
    if answer.status is not None and 400 <= answer.status < 500 and answer.status not in SLACK_RETRIED:
        raise SlackRefused(f"ALERT_WEBHOOK_URL {problem}")
    raise SlackFailed(f"ALERT_WEBHOOK_URL {problem}")
