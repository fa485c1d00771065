"""Finding members: the filters staff search with, in the console, the API and CSV export.

Each filter maps to an index (see models/member.py and the staff search migration):

    email      exact, on the unique email index
    q          email prefix (LIKE 'abc%', pattern index on PostgreSQL) or name substring
               (ILIKE '%abc%', trigram index on PostgreSQL)
    status     members.status
    plan       EXISTS a subscription on the plan (subscriptions.plan_id, member_id)
    joined     members.created_at range

Results are newest first and paged by id (a keyset cursor), so page 1000 is as
quick as page 1.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import joinedload, selectinload

from service.extensions import db
from service.models import Member, MemberStatus, Plan, Subscription, normalize_email


@dataclass(frozen=True)
class MemberFilter:
    """What to look for; every given filter must match."""

    email: str | None = None
    q: str | None = None
    status: MemberStatus | None = None
    plan: str | None = None  # a plan code
    joined_from: date | None = None
    joined_to: date | None = None  # inclusive

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments (for paging links and export)."""
        values = {"email": self.email, "q": self.q, "status": self.status, "plan": self.plan,
                  "joined_from": self.joined_from, "joined_to": self.joined_to}
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def filtered(f: MemberFilter) -> Select[Member]:
    """A query for the members matching `f`, newest first (no limit)."""
    query = select(Member).order_by(Member.id.desc())
    if f.email:
        query = query.where(Member.email == normalize_email(f.email))
    if f.q:
        needle = f.q.strip().lower()
        # Emails are stored lower-case, so a plain LIKE prefix matches case-insensitively.
        query = query.where(Member.email.startswith(needle, autoescape=True)
                            | Member.name.icontains(needle, autoescape=True))
    if f.status:
        query = query.where(Member.status == f.status)
    if f.plan:
        on_plan = (select(Subscription.id).join(Plan, Subscription.plan_id == Plan.id)
                   .where(Plan.code == f.plan, Subscription.member_id == Member.id))
        query = query.where(exists(on_plan))
    if f.joined_from:
        query = query.where(Member.created_at >= _start_of(f.joined_from))
    if f.joined_to:
        query = query.where(Member.created_at < _start_of(f.joined_to + timedelta(days=1)))
    return query


def search(f: MemberFilter, *, limit: int = 25, cursor: int | None = None,
           newsletters: bool = True) -> tuple[list[Member], int | None]:
    """One page of matching members and the cursor of the next page (None on the last page).

    Each member comes with their subscriptions and plans (for status, access and plan), read in
    the same statement, and, unless `newsletters` is False, their list subscriptions (the API
    shows them), read in one more statement for the whole page. The staff console's results
    show no newsletters and skip that statement.
    """
    query = filtered(f).limit(limit + 1)
    if cursor is not None:
        query = query.where(Member.id < cursor)
    # Joined, not the relationship's own selectin: one round trip fewer on every page. The limit
    # applies to members (the ORM joins to a subquery of them), not to the joined rows.
    query = query.options(joinedload(Member.subscriptions))
    if newsletters:
        query = query.options(selectinload(Member.list_subscriptions))
    rows = list(db.session.scalars(query).unique())
    page = rows[:limit]
    return page, (page[-1].id if len(rows) > limit else None)


def iter_all(f: MemberFilter, *, chunk: int = 1000, release: bool = False) -> Iterator[Member]:
    """Every matching member, read a chunk at a time (for CSV export of large results).

    `release` empties the session after each chunk so memory stays flat over a million
    rows; only for callers (the CLI) that hold no other objects in the session.
    """
    cursor: int | None = None
    while True:
        page, cursor = search(f, limit=chunk, cursor=cursor, newsletters=False)  # the export shows none
        yield from page
        if release:
            db.session.expunge_all()
        if cursor is None:
            return


def plan_codes() -> list[str]:
    return list(db.session.scalars(select(Plan.code).order_by(Plan.sort_order, Plan.code)))
