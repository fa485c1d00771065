"""Delivery of list changes to the email provider: the outbox handler for `newsletter.sync`.

Each row carries one subscriber's full desired state, so delivering it again,
or out of turn after a retry, leaves the provider right.
"""
from __future__ import annotations

from sqlalchemy import select

from service.domain.outbox import handles
from service.extensions import db
from service.gateways import newsletter_provider
from service.gateways.newsletter import Subscriber
from service.models import ListStatus, Newsletter

SYNC_TOPIC = "newsletter.sync"


@handles(SYNC_TOPIC)
def deliver_sync(payload: dict[str, str]) -> None:
    """Tell the provider one subscriber's desired state."""
    list_id = db.session.scalar(select(Newsletter.provider_list_id).where(Newsletter.slug == payload["list"]))
    subscriber = Subscriber(list_slug=payload["list"], list_id=list_id, email=payload["email"],
                            first_name=payload.get("first_name", ""), last_name=payload.get("last_name", ""))
    if payload["status"] == ListStatus.SUBSCRIBED:
        newsletter_provider().upsert(subscriber)
    else:
        newsletter_provider().remove(subscriber, reason=payload["status"])
