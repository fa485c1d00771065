"""Reading contributions: the console's list and totals, the API, the accountant's CSV, a member's
giving history, and the giving figures on the dashboard.

Each filter maps to an index on `contributions` (see models/giving.py):

    member_id    (member_id, paid_at)
    campaign     (campaign, paid_at)
    since/until  (paid_at)
    kind, currency  checked on the rows those indexes find

Lists are newest paid first and paged by a keyset on (paid_at, id), so page 1000 is as quick
as page 1 and a refund or a new payment never shifts a page. The cursor is the last row's key
(`Cursor.encode`), opaque to clients.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby, islice
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select

from service.domain import csv_out
from service.extensions import db
from service.models import Contribution, ContributionKind, Member
from service.money import to_decimal

HISTORY_LIMIT = 200  # contributions on the member page
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
MAX_ID = 2**31 - 1  # the database's integer ids
CURSOR_PATTERN = r"^[0-9]{1,17}_[0-9]{1,10}$"  # as Cursor.encode writes it
Query = TypeVar("Query", bound=Select)


class Cursor(NamedTuple):
    """Where the previous page ended: the last row's paid_at and id."""

    paid_at: datetime
    id: int

    def encode(self) -> str:
        return f"{max((self.paid_at - EPOCH) // MICROSECOND, 0)}_{self.id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """A cursor `encode` wrote (anything matching CURSOR_PATTERN reads as some position)."""
        micros, _, row_id = text.partition("_")
        return cls(EPOCH + int(micros) * MICROSECOND, min(int(row_id), MAX_ID))

    @classmethod
    def after(cls, row: Contribution) -> Cursor:
        return cls(row.paid_at, row.id)


@dataclass(frozen=True)
class ContributionFilter:
    """What to list; every given filter must match. `since` and `until` are days (UTC, both
    included) or exact times (paid at or after `since`, before `until`)."""

    member_id: int | None = None
    kind: ContributionKind | None = None
    campaign: str | None = None
    currency: str | None = None  # lower-case ISO code
    since: date | datetime | None = None
    until: date | datetime | None = None

    def as_args(self) -> dict[str, str]:
        """The filter as query-string arguments (for paging links and the CSV link)."""
        values = {"member_id": self.member_id, "kind": self.kind, "campaign": self.campaign, "currency": self.currency,
                  "since": _arg(self.since), "until": _arg(self.until)}
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def _arg(moment: date | datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def start_bound(moment: date | datetime) -> datetime:
    """The first instant a `since` value includes."""
    return moment if isinstance(moment, datetime) else datetime.combine(moment, time.min, tzinfo=UTC)


def end_bound(moment: date | datetime) -> datetime:
    """The first instant an `until` value excludes: the next day's start for a day."""
    return moment if isinstance(moment, datetime) else datetime.combine(moment + timedelta(days=1), time.min, tzinfo=UTC)


def _conditions(f: ContributionFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if f.member_id is not None:
        found.append(Contribution.member_id == f.member_id)
    if f.kind is not None:
        found.append(Contribution.kind == f.kind)
    if f.campaign:
        found.append(Contribution.campaign == f.campaign)
    if f.currency:
        found.append(Contribution.currency == f.currency.lower())
    if f.since is not None:
        found.append(Contribution.paid_at >= start_bound(f.since))
    if f.until is not None:
        found.append(Contribution.paid_at < end_bound(f.until))
    return found


def _newest_first(query: Query, f: ContributionFilter, after: Cursor | None) -> Query:
    query = query.where(*_conditions(f)).order_by(Contribution.paid_at.desc(), Contribution.id.desc())
    if after is not None:
        # The first condition lets the paid_at index find the start; the second breaks ties by id.
        query = query.where(Contribution.paid_at <= after.paid_at, or_(
            Contribution.paid_at < after.paid_at, and_(Contribution.paid_at == after.paid_at, Contribution.id < after.id)))
    return query


def page(f: ContributionFilter, *, limit: int = 25, after: Cursor | None = None) -> tuple[list[Contribution], Cursor | None]:
    """One page of matching contributions, newest paid first, and where the next page starts
    (None on the last page)."""
    rows = list(db.session.scalars(_newest_first(select(Contribution), f, after).limit(limit + 1)))
    found = rows[:limit]
    return found, (Cursor.after(found[-1]) if len(rows) > limit else None)


def members_of(contributions: list[Contribution]) -> dict[int, Member]:
    """The members who made these contributions, by id (one query), for lists that link to them."""
    ids = {c.member_id for c in contributions}
    if not ids:
        return {}
    return {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids)))}


@dataclass
class Totals:
    """One currency's sums for a filter, in minor units. `net` is after refunds and lost disputes."""

    count: int = 0
    amount: int = 0
    fee_covered: int = 0
    refunded: int = 0
    disputed: int = 0
    net: int = 0


def _net() -> ColumnElement[int]:
    """Contribution.net_amount in SQL: never below zero, even when a refund and a dispute overlap."""
    left = Contribution.amount - Contribution.refunded_amount - Contribution.disputed_amount
    return case((left > 0, left), else_=0)


def totals(f: ContributionFilter) -> dict[str, Totals]:
    """Sums per currency (lower-case code) of the contributions matching `f`; {} when none match."""
    rows = db.session.execute(
        select(Contribution.currency, func.count(), func.sum(Contribution.amount), func.sum(Contribution.fee_covered),
               func.sum(Contribution.refunded_amount), func.sum(Contribution.disputed_amount), func.sum(_net()))
        .where(*_conditions(f)).group_by(Contribution.currency).order_by(Contribution.currency))
    return {currency: Totals(*(int(v or 0) for v in sums)) for currency, *sums in rows}


def history(member_id: int, *, limit: int = HISTORY_LIMIT) -> list[Contribution]:
    """A member's contributions, newest paid first (the member page; `limit` keeps it bounded)."""
    found, _next = page(ContributionFilter(member_id=member_id), limit=limit)
    return found


# --- the accountant's CSV -------------------------------------------------------------------

EXPORT_COLUMNS = ["receipt_number", "paid_at", "member_id", "email", "name", "anonymous", "kind", "currency", "amount",
                  "fee_covered", "refunded", "disputed", "net", "campaign", "stripe_invoice_id",
                  "stripe_payment_intent_id", "stripe_charge_id"]


def iter_rows(f: ContributionFilter, *, chunk: int = 1000, release: bool = False) -> Iterator[tuple[Contribution, str, str]]:
    """Every matching contribution with its member's email and name, read a chunk at a time.

    `release` empties the session after each chunk so memory stays flat over a million rows;
    only for callers (the CLI) that hold no other objects in the session.
    """
    query = select(Contribution, Member.email, Member.name).join(Member, Member.id == Contribution.member_id)
    after: Cursor | None = None
    while True:
        rows = [(c, email, name) for c, email, name in db.session.execute(_newest_first(query, f, after).limit(chunk))]
        yield from rows
        if len(rows) < chunk:
            return
        after = Cursor.after(rows[-1][0])
        if release:
            db.session.expunge_all()


def _money(amount: int, currency: str) -> str:
    return str(to_decimal(amount, currency))


def export_row(c: Contribution, email: str, name: str) -> list[Any]:
    """One CSV row: amounts in the currency's major unit (25.00), as a spreadsheet sums them."""
    cur = c.currency
    return [c.receipt_number, c.paid_at.isoformat(), c.member_id, email, name, "yes" if c.anonymous else "no", c.kind,
            cur, _money(c.amount, cur), _money(c.fee_covered, cur), _money(c.refunded_amount, cur),
            _money(c.disputed_amount, cur), _money(c.net_amount, cur), c.campaign, c.stripe_invoice_id,
            c.stripe_payment_intent_id, c.stripe_charge_id]


def export_lines(f: ContributionFilter, *, release: bool = False) -> Iterator[str]:
    """CSV lines (header first) for every matching contribution, newest first, through the one
    formula-escaping writer."""
    return csv_out.lines(EXPORT_COLUMNS, (export_row(*row) for row in iter_rows(f, release=release)))


# --- the dashboard's giving figures -----------------------------------------------------------


@dataclass
class KindFigures:
    currency: str
    kind: str
    count: int
    amount: int
    net: int


@dataclass
class CampaignRevenue:
    campaign: str
    currency: str
    contributions: int
    net: int


@dataclass
class CampaignJoins:
    campaign: str
    joins: int


@dataclass
class GivingFigures:
    """Contributions by currency and kind this calendar month and over the last twelve (this one
    included), and the campaigns that brought the most money (per currency) and members."""

    month_start: datetime
    year_start: datetime
    month: list[KindFigures]
    year: list[KindFigures]
    campaigns_by_revenue: list[CampaignRevenue]
    campaigns_by_joins: list[CampaignJoins]


def month_start(now: datetime, months_back: int = 0) -> datetime:
    """The first instant (UTC) of the calendar month `months_back` months before now's."""
    index = now.year * 12 + now.month - 1 - months_back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def by_kind(since: datetime, until: datetime) -> list[KindFigures]:
    rows = db.session.execute(
        select(Contribution.currency, Contribution.kind, func.count(), func.sum(Contribution.amount), func.sum(_net()))
        .where(Contribution.paid_at >= since, Contribution.paid_at < until)
        .group_by(Contribution.currency, Contribution.kind).order_by(Contribution.currency, Contribution.kind))
    return [KindFigures(cur, str(kind), n, int(amount or 0), int(net or 0)) for cur, kind, n, amount, net in rows]


def campaigns_by_revenue(since: datetime, until: datetime, *, top: int = 10) -> list[CampaignRevenue]:
    """Per currency (amounts in different currencies do not compare), the `top` campaigns by net revenue."""
    rows = db.session.execute(
        select(Contribution.campaign, Contribution.currency, func.count(), func.sum(_net()))
        .where(Contribution.campaign.is_not(None), Contribution.paid_at >= since, Contribution.paid_at < until)
        .group_by(Contribution.campaign, Contribution.currency))
    found = sorted((CampaignRevenue(c or "", cur, n, int(net or 0)) for c, cur, n, net in rows),
                   key=lambda r: (r.currency, -r.net, r.campaign))
    return [r for _cur, ranked in groupby(found, key=lambda r: r.currency) for r in islice(ranked, top)]


def first_touch_campaign() -> ColumnElement[str]:
    """A member's first-touch campaign, as attribution.campaign_of reads it: `campaign`, else `utm_campaign`."""
    return func.coalesce(Member.first_touch["campaign"].as_string(), Member.first_touch["utm_campaign"].as_string())


def campaigns_by_joins(since: datetime, until: datetime, *, top: int = 10) -> list[CampaignJoins]:
    """The `top` campaigns by members who joined in the period with that campaign as their first touch."""
    campaign = first_touch_campaign().label("campaign")
    rows = db.session.execute(
        select(campaign, func.count().label("joins"))
        .where(Member.created_at >= since, Member.created_at < until, campaign.is_not(None))
        .group_by(campaign).order_by(func.count().desc(), campaign).limit(top))
    return [CampaignJoins(c, n) for c, n in rows]


def giving_figures(now: datetime, *, top: int = 10) -> GivingFigures:
    month, year, end = month_start(now), month_start(now, 11), month_start(now, -1)
    return GivingFigures(month_start=month, year_start=year, month=by_kind(month, end), year=by_kind(year, end),
                         campaigns_by_revenue=campaigns_by_revenue(year, end, top=top),
                         campaigns_by_joins=campaigns_by_joins(year, end, top=top))
