"""Erasing a member's personal data on request (GDPR art. 17), keeping the financial records.

What goes: the email (replaced by a unique placeholder that can never receive
mail), the name, the email on list subscriptions and consent records (with IP
and user agent), the text of staff notes, and the personal fields of earlier
audit entries. Lists they were on are left (`unsubscribed`) first, so the
provider removes the real address. Live Stripe subscriptions are cancelled now
and the Stripe customer's email and name are replaced too.

Stripe events that touched the member keep only what happened (ids, type,
time), not the objects' contents: those applied to the member, and every other
stored event that names their Stripe customer or their address anywhere in its
payload (found by `object_id` and a text search of the JSON, in batches). Their
sign-in tokens are revoked (deleted). Outbox rows holding the address are
purged: undelivered ones (pending or dead: emails, list changes, outgoing
webhooks) are dropped, delivered ones lose their content. The one list change
that removes the address at the provider, queued by the erasure itself, must
still carry it: it is purged with every delivered outbox message after
OUTBOX_RETENTION_DAYS.

What stays, as tax and accounting law require: subscriptions, invoices,
contributions (without a dedication's notify address), billing issues, the
member row itself (status, dates, Stripe ids), and the timeline of status changes.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, delete, or_, select, update

from service.domain.billing.sync import Cause, sync_subscription
from service.domain.emails import EMAIL_TOPIC
from service.domain.integrations import webhooks
from service.domain.members.access import live_subscriptions
from service.domain.members.comps import locked_member
from service.domain.members.signin import end_reader_sessions
from service.domain.newsletter.subscriptions import Actor, change_status
from service.domain.staff import audit
from service.errors import Conflict
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import (
    ActivityKind,
    AuditEntry,
    Cancellation,
    CheckoutAttempt,
    ConsentRecord,
    ConsentSource,
    Contribution,
    EmailChange,
    Gift,
    ListStatus,
    ListSubscription,
    Member,
    MemberActivity,
    OutboxMessage,
    OutboxStatus,
    SigninToken,
    StaffUser,
    StripeEvent,
)

logger = logging.getLogger(__name__)
ERASED_DOMAIN = "erased.invalid"  # .invalid never resolves (RFC 2606), so nothing is ever sent there
PERSONAL_KEYS = ("email", "name", "new_email")  # new_email: a requested email change
EVENT_BATCH = 500


def placeholder_email(member_id: int) -> str:
    return f"erased-{member_id}@{ERASED_DOMAIN}"


def is_erased(member: Member) -> bool:
    return member.email.endswith("@" + ERASED_DOMAIN)


def erase_member(member_id: int, actor: StaffUser, gateway: StripeGateway, now: datetime) -> Member:
    """Cancel billing and anonymise the member. Raises Conflict when already erased."""
    member = locked_member(member_id)
    if is_erased(member):
        raise Conflict("This member's personal data has already been erased.")
    before = {"status": str(member.status), "subscriptions": [s.stripe_subscription_id for s in member.subscriptions]}
    _cancel_billing(member, actor, gateway, now)
    _purge_outbox(member.email)  # before leaving the lists, whose provider removals must carry the address
    _leave_lists(member, actor, now)
    webhooks.forget_member(member)  # stored webhook events about them, those just queued by leaving the lists too
    placeholder = placeholder_email(member.id)
    _scrub_rows(member, placeholder)
    member.email, member.name = placeholder, ""
    end_reader_sessions(member)  # signed-in browsers no longer sign anyone in
    db.session.flush()
    if member.stripe_customer_id:
        gateway.update_customer(member.stripe_customer_id, key=f"erase-{member.id}", email=placeholder, name="")
    audit.record(actor, "member.erased", member, before, {"status": str(member.status), "email": placeholder}, now)
    webhooks.publish("member.erased", {"member": member}, now=now)
    log_event(logger, "member.erased", member_id=member.id, staff_user_id=actor.id)
    return member


def _cancel_billing(member: Member, actor: StaffUser, gateway: StripeGateway, now: datetime) -> None:
    cause = Cause(staff_user_id=actor.id, detail="cancelled: member erased")
    for sub in live_subscriptions(member):
        fresh = gateway.cancel_subscription_now(sub.stripe_subscription_id, key=f"erase-{member.id}")
        sync_subscription(member, fresh, now, cause=cause)


def _leave_lists(member: Member, actor: StaffUser, now: datetime) -> None:
    subs = db.session.scalars(select(ListSubscription).where(
        (ListSubscription.member_id == member.id) | (ListSubscription.email == member.email)))
    who = Actor(ConsentSource.STAFF, staff_user_id=actor.id)
    for sub in subs:
        if sub.status is not ListStatus.UNSUBSCRIBED:
            change_status(sub.newsletter, sub, ListStatus.UNSUBSCRIBED, who, now, email=sub.email, member=member)


def _scrub_rows(member: Member, placeholder: str) -> None:
    email = member.email
    db.session.execute(update(ListSubscription).where(
        (ListSubscription.member_id == member.id) | (ListSubscription.email == email)).values(email=placeholder))
    db.session.execute(update(ConsentRecord).where(
        (ConsentRecord.member_id == member.id) | (ConsentRecord.email == email))
        .values(email=placeholder, ip_address=None, user_agent=None))
    db.session.execute(update(MemberActivity).where(
        MemberActivity.member_id == member.id, MemberActivity.kind == ActivityKind.NOTE).values(detail="(erased)"))
    # The cancel flow's reason and offer stay counted; the reader's own words go.
    db.session.execute(update(Cancellation).where(Cancellation.member_id == member.id).values(text=None))
    for entry in db.session.scalars(select(AuditEntry).where(AuditEntry.member_id == member.id)):
        entry.before, entry.after = _redacted(entry.before), _redacted(entry.after)
    for event in _events_naming(member):
        event.payload = _event_skeleton(event.payload)
    db.session.execute(delete(SigninToken).where(SigninToken.member_id == member.id))
    # Requested email changes hold the address staff typed: gone with the rest.
    db.session.execute(delete(EmailChange).where(EmailChange.member_id == member.id))
    # Contributions stay (they are the accounts), without the address a dedication was to notify;
    # what the give form said (dedication, attribution) goes with the checkout attempts' details.
    db.session.execute(update(Contribution).where(Contribution.member_id == member.id).values(dedication_notify_email=None))
    db.session.execute(update(CheckoutAttempt).where(CheckoutAttempt.member_id == member.id).values(details=None))
    # Gift memberships stay (a payment and what it bought), without the erased person's name,
    # address or the message: as purchaser or as recipient.
    db.session.execute(update(Gift).where(Gift.purchaser_id == member.id).values(purchaser_name="(erased)", message=""))
    db.session.execute(update(Gift).where((Gift.recipient_id == member.id) | (Gift.recipient_email == email))
                       .values(recipient_name="(erased)", recipient_email=placeholder, message=""))
    emails_to_them = (OutboxMessage.topic == EMAIL_TOPIC) & (OutboxMessage.key == f"email:member:{member.id}")
    db.session.execute(delete(OutboxMessage).where(emails_to_them, OutboxMessage.status != OutboxStatus.DELIVERED))
    db.session.execute(update(OutboxMessage).where(emails_to_them).values(payload={"erased": True}))


def _mentions(column: Any, needle: str) -> ColumnElement[bool]:
    """The JSON column's text contains `needle` (as stored: JSON escapes non-ASCII), on SQLite and PostgreSQL."""
    as_text = cast(column, Text)
    spellings = {needle, json.dumps(needle)[1:-1]}
    return or_(*(as_text.contains(s, autoescape=True) for s in spellings))


def _purge_outbox(email: str) -> None:
    """Undelivered messages holding the address are dropped; delivered ones keep only that they were sent."""
    holds = _mentions(OutboxMessage.payload, email) | OutboxMessage.key.contains(email, autoescape=True)
    db.session.execute(delete(OutboxMessage).where(holds, OutboxMessage.status != OutboxStatus.DELIVERED))
    db.session.execute(update(OutboxMessage).where(holds).values(payload={"erased": True}, key="erased"))


def _events_naming(member: Member) -> Iterator[StripeEvent]:
    """Every stored event applied to the member or naming their customer or address, a batch at a time."""
    names = [_mentions(StripeEvent.payload, member.email), StripeEvent.member_id == member.id]
    if member.stripe_customer_id:
        names += [StripeEvent.object_id == member.stripe_customer_id,
                  _mentions(StripeEvent.payload, member.stripe_customer_id)]
    last = 0
    while True:
        batch = list(db.session.scalars(select(StripeEvent).where(StripeEvent.id > last, or_(*names))
                                        .order_by(StripeEvent.id).limit(EVENT_BATCH)))
        yield from batch
        if len(batch) < EVENT_BATCH:
            return
        last = batch[-1].id


def _event_skeleton(payload: dict[str, Any]) -> dict[str, Any]:
    """What happened, without the object's contents (names, emails, addresses)."""
    obj = (payload.get("data") or {}).get("object") or {}
    kept = {k: payload.get(k) for k in ("id", "object", "type", "created", "livemode", "api_version")}
    return {**kept, "data": {"object": {"id": obj.get("id"), "object": obj.get("object")}}, "erased": True}


def _redacted(snapshot: dict[str, Any] | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    return {k: ("(erased)" if k in PERSONAL_KEYS and v else v) for k, v in snapshot.items()}
