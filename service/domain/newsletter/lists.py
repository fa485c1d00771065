"""The lists and who is on them: finding a list or a subscription, the provider's list for
each, and the local copy of each list (API and CSV export)."""
from __future__ import annotations

from collections.abc import Iterator

from flask_babel import gettext
from sqlalchemy import case, or_, select

from service.domain import csv_out
from service.errors import NotFound
from service.extensions import db
from service.i18n import N_
from service.models import ListStatus, ListSubscription, Newsletter, normalize_email

MEMBERS_LIST = "members-digest"  # the members' digest: follows access, members only
CSV_COLUMNS = ("email", "status", "member_id", "subscribed_since", "updated_at")
# The names of the lists the first migration creates are in the catalog, so readers see them in their
# language; a list staff add later is shown as they named it.
SEEDED_NAMES = frozenset({N_("Members' daily digest"), N_("Daily headlines")})


def get_list(slug: str) -> Newsletter:
    newsletter = db.session.scalar(select(Newsletter).where(Newsletter.slug == slug))
    if newsletter is None:
        raise NotFound(gettext("There is no newsletter called %(slug)s.", slug=repr(slug)))
    return newsletter


def list_name(newsletter: Newsletter) -> str:
    """The list's name as readers see it, in the page's or email's language."""
    return gettext(newsletter.name) if newsletter.name in SEEDED_NAMES else newsletter.name


def all_lists() -> list[Newsletter]:
    return list(db.session.scalars(select(Newsletter).order_by(Newsletter.id)))


def set_provider_list(slug: str, list_id: str) -> Newsletter:
    """Send the list to the provider's list `list_id` (e.g. a Mailchimp audience). Flushes."""
    newsletter = get_list(slug)
    newsletter.provider_list_id = list_id
    db.session.flush()
    return newsletter


def find_subscription(newsletter: Newsletter, email: str, member_id: int | None = None) -> ListSubscription | None:
    """The member's subscription to the list, else the one of their address: one statement."""
    query = select(ListSubscription).where(ListSubscription.newsletter_id == newsletter.id)
    by_email = ListSubscription.email == normalize_email(email)
    if member_id is None:
        return db.session.scalar(query.where(by_email))
    mine = ListSubscription.member_id == member_id
    return db.session.scalar(query.where(or_(mine, by_email)).order_by(case((mine, 0), else_=1), ListSubscription.id)
                             .limit(1))


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
    """The list as CSV lines (header first), streamed page by page, formula-like cells escaped."""
    return csv_out.lines(CSV_COLUMNS, ((sub.email, str(sub.status), sub.member_id or "", sub.created_at.isoformat(),
                                        sub.updated_at.isoformat()) for sub in iter_subscribers(slug, status=status)))
