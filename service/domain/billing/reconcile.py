"""Bringing the member store back in line with Stripe: one member, or everyone.

`resync_member` re-reads one member's subscriptions (staff's "resync" button).
`service.jobs.reconcile` pages through every subscription on the Stripe account
and re-syncs each (`reconcile_subscription`, one transaction each), then applies
any event of the last 30 days that never reached the inbox (`missed_events`, for
example while the endpoint was down), and reports what changed, for whom.
Everything here flushes; the job runner commits.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from service.domain.billing.handlers import HANDLERS
from service.domain.billing.sync import Cause, NotOurs, member_for, stripe_id, sync_subscription
from service.domain.members.status import lock_member, refresh_status
from service.domain.staff import audit
from service.errors import NotFound
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import Member, StaffUser, StripeEvent

logger = logging.getLogger(__name__)
EVENT_WINDOW = timedelta(days=30)  # how long Stripe keeps events


@dataclass(frozen=True)
class Drift:
    member_id: int
    email: str
    before: str
    after: str
    subscription_id: str


@dataclass
class Report:
    subscriptions: int = 0
    unknown: int = 0
    failed: int = 0
    drift: list[Drift] = field(default_factory=list)
    events_missing: int = 0
    events_applied: int = 0


def resync_member(member: Member, gateway: StripeGateway, now: datetime, cause: Cause) -> bool:
    """Re-read all of a member's subscriptions from Stripe. Returns whether the status changed."""
    before = member.status
    if member.stripe_customer_id:
        for sub in gateway.list_subscriptions(customer=member.stripe_customer_id):
            sync_subscription(member, sub, now, cause=cause)
    member.billing_synced_at = now
    refresh_status(member, now, stripe_event_id=cause.stripe_event_id, staff_user_id=cause.staff_user_id,
                   detail=cause.detail)
    return member.status is not before


def reconcile_subscription(sub: dict, gateway: StripeGateway, now: datetime, report: Report) -> None:
    """Re-sync one subscription from the account's list; note drift and subscriptions not ours. Flushes.

    The list page only names the subscription: it was read before the member's lock was
    taken, and an event applied meanwhile (say, customer.subscription.deleted) may be newer.
    So the subscription is read again under the lock, as the webhook handlers do, and an
    older snapshot can never overwrite a newer one.
    """
    try:
        member = member_for(sub.get("customer"), (sub.get("metadata") or {}).get("member_id"))
    except NotOurs:
        report.unknown += 1
        return
    before = member.status
    sync_subscription(member, gateway.retrieve_subscription(sub["id"]), now, cause=Cause(detail="reconcile"))
    if member.status is not before:
        report.drift.append(Drift(member.id, member.email, str(before), str(member.status), sub["id"]))


def subscription_failed(sub: dict, error: Exception, report: Report) -> None:
    """One subscription could not be re-synced: count it and go on with the others."""
    report.failed += 1
    log_event(logger, "reconcile.subscription_failed", level=logging.WARNING,
              subscription=stripe_id(sub.get("id")), error=type(error).__name__)


def missed_events(gateway: StripeGateway, now: datetime) -> Iterator[dict]:
    """Events of the last 30 days, of the types we handle, that never reached the inbox."""
    since = int((now - EVENT_WINDOW).timestamp())
    for event in gateway.list_events(created_gte=since, types=sorted(HANDLERS)):
        if db.session.scalar(select(StripeEvent.id).where(StripeEvent.stripe_event_id == event["id"])) is None:
            yield event


def finished(report: Report) -> Report:
    log_event(logger, "reconcile.finished", subscriptions=report.subscriptions, drift=len(report.drift),
              unknown=report.unknown, failed=report.failed, events_missing=report.events_missing)
    return report


def staff_resync(member_id: int, actor: StaffUser, gateway: StripeGateway, now: datetime) -> Member:
    """A staff member's "resync from Stripe": locked, re-read, audited."""
    member = lock_member(member_id)
    if member is None:
        raise NotFound(f"No member with id {member_id}.")
    before = audit.member_snapshot(member)
    resync_member(member, gateway, now, Cause(staff_user_id=actor.id, detail="resync by staff"))
    audit.record(actor, "member.resync", member, before, audit.member_snapshot(member), now)
    return member
