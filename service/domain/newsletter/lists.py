"""The local copy of each list (API and CSV export) and delivery of list changes to the provider."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select

from service.domain.newsletter.subscriptions import get_list
from service.extensions import db
from service.models import ListStatus, ListSubscription, Newsletter

CSV_COLUMNS = ("email", "status", "member_id", "subscribed_since", "updated_at")


def deliver_sync(payload: dict[str, str]) -> None:
    """Outbox handler for `newsletter.sync`: tell the provider one subscriber's desired state."""
    from service.gateways import newsletter_provider
    from service.gateways.newsletter import Subscriber

    list_id = db.session.scalar(select(Newsletter.provider_list_id).where(Newsletter.slug == payload["list"]))
    subscriber = Subscriber(list_slug=payload["list"], list_id=list_id, email=payload["email"],
                            first_name=payload.get("first_name", ""), last_name=payload.get("last_name", ""))
    if payload["status"] == ListStatus.SUBSCRIBED:
        newsletter_provider().upsert(subscriber)
    else:
        newsletter_provider().remove(subscriber, reason=payload["status"])


def subscribers(slug: str, *, status: ListStatus = ListStatus.SUBSCRIBED, limit: int = 100,
                cursor: int | None = None) -> tuple[list[ListSubscription], int | None]:
    """One page of a list's subscriptions in a status, oldest first; and the next page's cursor."""
    newsletter = get_list(slug)
    query = (select(ListSubscription)
             .where(ListSubscription.newsletter_id == newsletter.id, ListSubscription.status == status)
             .order_by(ListSubscription.id).limit(limit + 1))
    if cursor is not None:
        query = query.where(ListSubscription.id > cursor)
    rows = list(db.session.scalars(query))
    page = rows[:limit]
    return page, (page[-1].id if len(rows) > limit else None)


def iter_subscribers(slug: str, *, status: ListStatus = ListStatus.SUBSCRIBED, chunk: int = 1000) -> Iterator[ListSubscription]:
    """Every subscription of a list in a status, in pages, for exports of any size."""
    cursor = None
    while True:
        page, cursor = subscribers(slug, status=status, limit=chunk, cursor=cursor)
        yield from page
        if cursor is None:
            return


def export_csv(slug: str, status: ListStatus = ListStatus.SUBSCRIBED) -> Iterator[str]:
    """The list as CSV lines (header first), streamed page by page."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(row: tuple[object, ...]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue()

    yield line(CSV_COLUMNS)
    for sub in iter_subscribers(slug, status=status):
        yield line((sub.email, str(sub.status), sub.member_id or "", sub.created_at.isoformat(),
                    sub.updated_at.isoformat()))
