"""Gift memberships as staff and the API list them: newest first, by status, a page at a time."""
from __future__ import annotations

from sqlalchemy import func, select

from service.extensions import db
from service.models import Gift, GiftStatus


def page(status: GiftStatus | None = None, *, limit: int = 50, after: int | None = None) -> tuple[list[Gift], int | None]:
    """Up to `limit` gifts (newest first) with ids below `after`, and the cursor for the next page (None at the end)."""
    query = select(Gift).order_by(Gift.id.desc()).limit(limit + 1)
    if status is not None:
        query = query.where(Gift.status == status)
    if after is not None:
        query = query.where(Gift.id < after)
    found = list(db.session.scalars(query))
    return found[:limit], (found[limit - 1].id if len(found) > limit else None)


def counts() -> dict[str, int]:
    """How many gifts are in each status (every status named, 0 when none)."""
    found: dict[GiftStatus, int] = {status: n for status, n in db.session.execute(select(Gift.status, func.count()).group_by(Gift.status))}
    return {str(status): found.get(status, 0) for status in GiftStatus}
