"""Newsletter lists: the enrolment policy, subscribe and unsubscribe, and consent.

This module is the only code that decides who is on a list. Every change of a
subscription's status writes a consent record (what, source, when, and for a
reader's own action their IP and user agent) and, unless the change is a
request awaiting confirmation, a `newsletter.sync` outbox row carrying the
subscriber's full desired state, in the caller's transaction. Functions flush,
never commit.

The members' digest follows access (`follow_access`): gaining access enrols,
losing it sets `lapsed`, and an `unsubscribed` row is a standing choice that
neither renewals nor rejoining override.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from sqlalchemy import select

from service.db import utcnow
from service.domain.emails import queue_confirmation
from service.domain.integrations import webhooks
from service.domain.members.access import has_access
from service.domain.newsletter.lists import MEMBERS_LIST, find_subscription, get_list
from service.domain.newsletter.provider_sync import SYNC_TOPIC
from service.domain.outbox import already_queued, enqueue
from service.errors import ValidationFailed
from service.extensions import db
from service.gateways import newsletter_provider
from service.logs import log_event
from service.models import (
    ConsentAction,
    ConsentRecord,
    ConsentSource,
    ListStatus,
    ListSubscription,
    Member,
    Newsletter,
    normalize_email,
)

logger = logging.getLogger(__name__)
SYNCED_KEY = "newsletter_synced"  # session.info: (transaction, keys of the list syncs it queued)
# A second sign-up request for the same address and list within this window sends no second email.
CONFIRM_RESEND_WINDOW = timedelta(hours=1)
ACTION_FOR = {
    ListStatus.SUBSCRIBED: ConsentAction.SUBSCRIBE,
    ListStatus.UNSUBSCRIBED: ConsentAction.UNSUBSCRIBE,
    ListStatus.LAPSED: ConsentAction.LAPSE,
    ListStatus.PENDING: ConsentAction.REQUEST,
}


@dataclass(frozen=True)
class Actor:
    """Who made a change and from where: the consent record's source and, for readers, IP and user agent."""

    source: ConsentSource
    ip: str | None = None
    user_agent: str | None = None
    staff_user_id: int | None = None


def change_status(newsletter: Newsletter, sub: ListSubscription | None, status: ListStatus, actor: Actor,
                  now: datetime, *, email: str, member: Member | None = None) -> ListSubscription:
    """Set a subscription's status (creating the row if needed), with its consent record and outbox row."""
    old = sub.status if sub is not None else None
    if sub is None:
        sub = ListSubscription(newsletter_id=newsletter.id, email=email, status=status, created_at=now)
        db.session.add(sub)
    sub.status = status
    sub.updated_at = now
    if member is not None:
        sub.member_id = member.id
    db.session.add(ConsentRecord(
        newsletter_id=newsletter.id, email=sub.email, member_id=sub.member_id, action=ACTION_FOR[status],
        source=actor.source, staff_user_id=actor.staff_user_id, ip_address=actor.ip,
        user_agent=(actor.user_agent or None) and actor.user_agent[:500], created_at=now,
    ))
    if status is not ListStatus.PENDING:
        key = f"list:{newsletter.id}:{sub.email}"
        enqueue(SYNC_TOPIC, key, _sync_payload(newsletter, sub, member), now=now)
        _synced_in_transaction().add(key)
    db.session.flush()
    webhooks.publish("newsletter.subscription_changed", webhooks.subscription_data(newsletter.slug, sub, old, str(actor.source)),
                     now=now, member_id=sub.member_id)
    log_event(logger, "newsletter.status_changed", list=newsletter.slug, subscription_id=sub.id,
              member_id=sub.member_id, from_status=str(old) if old else None, to_status=str(status),
              source=str(actor.source))
    return sub


def _sync_payload(newsletter: Newsletter, sub: ListSubscription, member: Member | None) -> dict[str, str | int | None]:
    first, _, last = (member.name if member is not None else "").strip().partition(" ")
    return {"list": newsletter.slug, "email": sub.email, "status": str(sub.status),
            "first_name": first, "last_name": last.strip(), "member_id": member.id if member is not None else sub.member_id}


def move_address(member: Member, old_email: str, now: datetime) -> int:
    """The member's list subscriptions follow them to their new email (member.email).

    At the provider the old address leaves the list and the new one joins it
    with the same status. A list where the new address already has its own row
    keeps that row's standing choice, and the old row stays with the old
    address. Returns how many subscriptions moved.
    """
    moved = 0
    rows = db.session.scalars(select(ListSubscription).where(
        (ListSubscription.member_id == member.id) | (ListSubscription.email == normalize_email(old_email))))
    for sub in list(rows):
        clash = find_subscription(sub.newsletter, member.email)
        if sub.email == member.email or (clash is not None and clash.id != sub.id):
            continue
        if sub.status is not ListStatus.PENDING:
            leaving = {**_sync_payload(sub.newsletter, sub, member), "status": str(ListStatus.UNSUBSCRIBED)}
            enqueue(SYNC_TOPIC, f"list:{sub.newsletter_id}:{sub.email}", leaving, now=now)
        sub.email, sub.member_id, sub.updated_at = member.email, member.id, now
        if sub.status is not ListStatus.PENDING:
            enqueue(SYNC_TOPIC, f"list:{sub.newsletter_id}:{sub.email}", _sync_payload(sub.newsletter, sub, member),
                    now=now)
        moved += 1
    db.session.flush()
    return moved


# --- the enrolment policy --------------------------------------------------------


def follow_access(member: Member, now: datetime, *, source: ConsentSource = ConsentSource.MEMBERSHIP) -> ListStatus | None:
    """Make the member's members-digest subscription match `has_access(member, now)`.

    Gaining access (including a comp) subscribes, unless the member unsubscribed
    before; losing access sets `lapsed`, so that rejoining restores it. Returns
    the new status, or None when nothing changed (and then nothing is written).
    Call after every status change and when access ends by time.
    """
    newsletter = get_list(MEMBERS_LIST)
    sub = find_subscription(newsletter, member.email, member.id)
    current = sub.status if sub is not None else None
    if has_access(member, now):
        wanted = None if current in (ListStatus.SUBSCRIBED, ListStatus.UNSUBSCRIBED) else ListStatus.SUBSCRIBED
    else:
        wanted = ListStatus.LAPSED if current is ListStatus.SUBSCRIBED else None
    if wanted is None:
        return None
    change_status(newsletter, sub, wanted, Actor(source), now, email=member.email, member=member)
    return wanted


def refresh_fields(member: Member, now: datetime) -> int:
    """Queue a sync of every list the member is subscribed to, so that a provider keeping merge
    fields and tags (status, plan, renewal, total given) is told when they change; the local
    provider keeps none and costs nothing here. A list already queued in this transaction is not
    queued again: each sync reads the member's fields when it is delivered."""
    if not newsletter_provider().keeps_fields:
        return 0
    queued = _synced_in_transaction()
    rows = db.session.execute(select(ListSubscription, Newsletter).join(Newsletter).where(
        ListSubscription.member_id == member.id, ListSubscription.status == ListStatus.SUBSCRIBED))
    count = 0
    for sub, newsletter in rows:
        key = f"list:{newsletter.id}:{sub.email}"
        if key not in queued:
            enqueue(SYNC_TOPIC, key, _sync_payload(newsletter, sub, member), now=now)
            queued.add(key)
            count += 1
    return count


def _synced_in_transaction() -> set[str]:
    """The list syncs queued in the session's current transaction or savepoint (a new set for each
    one, so a savepoint rolled back, and its outbox rows with it, leaves nothing marked queued)."""
    session = db.session()
    transaction = session.get_nested_transaction() or session.get_transaction()
    held = db.session.info.get(SYNCED_KEY)
    if held is None or held[0] is not transaction:
        held = db.session.info[SYNCED_KEY] = (transaction, set())
    return held[1]


# --- reader and staff actions ------------------------------------------------------


def unsubscribe(email: str, slug: str, actor: Actor, now: datetime | None = None) -> bool:
    """Record a standing choice not to receive the list. Returns False if it was already so."""
    newsletter = get_list(slug)
    email = normalize_email(email)
    sub = find_subscription(newsletter, email)
    if sub is not None and sub.status is ListStatus.UNSUBSCRIBED:
        return False
    change_status(newsletter, sub, ListStatus.UNSUBSCRIBED, actor, now or utcnow(), email=email)
    return True


def resubscribe(member_or_email: Member | str, slug: str, source: ConsentSource, ip: str | None = None,
                user_agent: str | None = None, *, now: datetime | None = None) -> ListStatus:
    """Subscribe again by the reader's own choice (e.g. from /account), undoing an unsubscribe.

    The caller vouches for the address (a signed-in reader). On a members-only
    list, a reader without access gets `lapsed`: their choice stands, and
    `follow_access` enrols them when access returns. Returns the resulting status.
    """
    now = now or utcnow()
    newsletter = get_list(slug)
    member = member_or_email if isinstance(member_or_email, Member) else None
    email = member_or_email.email if isinstance(member_or_email, Member) else normalize_email(member_or_email)
    sub = find_subscription(newsletter, email, member.id if member is not None else None)
    wanted = ListStatus.SUBSCRIBED
    if newsletter.members_only and (member is None or not has_access(member, now)):
        wanted = ListStatus.LAPSED
    if sub is not None and sub.status is wanted:
        return wanted
    change_status(newsletter, sub, wanted, Actor(source, ip, user_agent), now, email=email, member=member)
    return wanted


def request_subscription(email: str, slug: str, actor: Actor, now: datetime | None = None) -> bool:
    """A sign-up form request: email a confirmation link; only that link subscribes.

    Says nothing about whether the address is on the list already (no email is
    sent then). Repeats within CONFIRM_RESEND_WINDOW send nothing. Returns
    whether a confirmation email was queued.
    """
    now = now or utcnow()
    newsletter = get_list(slug)
    if newsletter.members_only:
        raise ValidationFailed(gettext("That newsletter comes with membership; there is nothing to sign up for."),
                               fields={"list": [gettext("Not open for sign-up.")]})
    email = normalize_email(email)
    sub = find_subscription(newsletter, email)
    if sub is not None and sub.status is ListStatus.SUBSCRIBED:
        return False
    window = int(now.timestamp() // CONFIRM_RESEND_WINDOW.total_seconds())
    dedupe_key = f"confirm:{newsletter.id}:{email}:{window}"
    if already_queued(dedupe_key):
        return False
    if sub is None:  # the pending row first: the confirmation link names it
        change_status(newsletter, None, ListStatus.PENDING, actor, now, email=email)
    queue_confirmation(email, newsletter, dedupe_key=dedupe_key)
    if sub is not None:  # keep the standing status until confirmed; record the request itself
        db.session.add(ConsentRecord(newsletter_id=newsletter.id, email=email, member_id=sub.member_id,
                                     action=ConsentAction.REQUEST, source=actor.source, ip_address=actor.ip,
                                     user_agent=(actor.user_agent or "")[:500] or None, created_at=now))
        db.session.flush()
    return True


def confirm_subscription(email: str, slug: str, actor: Actor, now: datetime | None = None) -> bool:
    """The reader followed the confirmation link: subscribe. Returns False if already subscribed."""
    newsletter = get_list(slug)
    if newsletter.members_only:  # never issued for these lists; refuse rather than bypass the policy
        raise ValidationFailed(gettext("That newsletter comes with membership; it cannot be joined by link."))
    sub = find_subscription(newsletter, email)
    if sub is not None and sub.status is ListStatus.SUBSCRIBED:
        return False
    change_status(newsletter, sub, ListStatus.SUBSCRIBED, actor, now or utcnow(), email=normalize_email(email))
    return True

