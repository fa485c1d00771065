"""Delivery of list changes to the email provider: the outbox handler for `newsletter.sync`.

Each row carries one subscriber's full desired state, so delivering it again,
or out of turn after a retry, leaves the provider right. A member's row also
carries what newsrooms segment lists by (DESIGN.md "Outgoing webhooks"): merge
fields and tags for their status, plan, join date, renewal date, total given
and campaign, read from the member when the row is delivered, so they are
never older than the delivery.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from service.domain.members.access import primary_subscription
from service.domain.outbox import handles
from service.extensions import db
from service.gateways import newsletter_provider
from service.gateways.newsletter import Subscriber
from service.models import Contribution, ListStatus, Member, MemberStatus, Newsletter, Plan, SubscriptionStatus
from service.money import to_decimal

SYNC_TOPIC = "newsletter.sync"
RENEWING = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE})


@handles(SYNC_TOPIC)
def deliver_sync(payload: dict[str, Any]) -> None:
    """Tell the provider one subscriber's desired state."""
    list_id = db.session.scalar(select(Newsletter.provider_list_id).where(Newsletter.slug == payload["list"]))
    member = db.session.get(Member, payload["member_id"]) if payload.get("member_id") else None
    fields, tags = member_fields(member) if member is not None else ({}, {})
    subscriber = Subscriber(list_slug=payload["list"], list_id=list_id, email=payload["email"],
                            first_name=payload.get("first_name", ""), last_name=payload.get("last_name", ""),
                            merge_fields=fields, tags=tags)
    if payload["status"] == ListStatus.SUBSCRIBED:
        newsletter_provider().upsert(subscriber)
    else:
        newsletter_provider().remove(subscriber, reason=payload["status"])


def member_fields(member: Member) -> tuple[dict[str, str], dict[str, bool]]:
    """Merge fields (STATUS, PLAN, JOINED, RENEWS, GIVEN, CAMPAIGN; dates YYYY-MM-DD, GIVEN in the
    currency given most in, like "25.00 USD") and tags ("member:<status>" and "plan:<code>" on,
    the other statuses and plans off, "campaign:<campaign>" on)."""
    sub = primary_subscription(member.subscriptions)
    plan = sub.plan.code if sub is not None and sub.plan is not None else ""
    renews = (sub.current_period_end.date().isoformat() if sub is not None and sub.status in RENEWING
              and not sub.cancel_at_period_end and sub.current_period_end is not None else "")
    campaign = _campaign(member)
    fields = {"STATUS": str(member.status), "PLAN": plan, "JOINED": member.created_at.date().isoformat(),
              "RENEWS": renews, "GIVEN": _given(member.id), "CAMPAIGN": campaign}
    tags = {f"member:{status}": status is member.status for status in MemberStatus}
    tags.update({f"plan:{code}": code == plan for code in db.session.scalars(select(Plan.code))})
    if campaign:
        tags[f"campaign:{campaign}"] = True
    return fields, tags


def _campaign(member: Member) -> str:
    """What first brought the member (else the latest checkout's), as attribution recorded it."""
    for touch in (member.first_touch, member.latest_touch):
        found = (touch or {}).get("campaign") or (touch or {}).get("utm_campaign")
        if found:
            return str(found)[:100]
    return ""


def _given(member_id: int) -> str:
    """What the member gave, net of refunds and disputes, in the currency they gave most in."""
    net = func.sum(Contribution.amount - Contribution.refunded_amount - Contribution.disputed_amount)
    rows = db.session.execute(select(Contribution.currency, net, func.count()).where(Contribution.member_id == member_id)
                              .group_by(Contribution.currency)).all()
    if not rows:
        return "0"
    currency, total, _count = max(rows, key=lambda row: (row[2], row[1]))
    return f"{to_decimal(int(total), currency)} {currency.upper()}"
