"""A signed-in reader's newsletter choices, and everything we store about them as JSON."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select

from service.domain.newsletter import subscriptions as newsletters
from service.domain.newsletter.lists import find_subscription
from service.extensions import db
from service.models import (
    Cancellation,
    CheckoutAttempt,
    ConsentRecord,
    ConsentSource,
    Contribution,
    EmailChange,
    Gift,
    Invoice,
    ListStatus,
    Member,
    MemberActivity,
    Newsletter,
    SigninToken,
    Statement,
)


@dataclass(frozen=True)
class Choice:
    newsletter: Newsletter
    status: ListStatus | None

    @property
    def receiving(self) -> bool:
        return self.status is ListStatus.SUBSCRIBED

    @property
    def wanted(self) -> bool:
        """Chosen, even if paused while there is no access (members-only lists)."""
        return self.status in (ListStatus.SUBSCRIBED, ListStatus.LAPSED, ListStatus.PENDING)


def newsletter_choices(member: Member) -> list[Choice]:
    """Every list, with this member's status on it (None: never on it)."""
    lists = db.session.scalars(select(Newsletter).order_by(Newsletter.members_only.desc(), Newsletter.id))
    choices = []
    for newsletter in lists:
        sub = find_subscription(newsletter, member.email, member.id)
        choices.append(Choice(newsletter, sub.status if sub is not None else None))
    return choices


def choose_newsletter(member: Member, slug: str, subscribe: bool, ip: str | None, user_agent: str | None,
                      now: datetime) -> None:
    """The member's own choice for one list, recorded as consent with source member, IP and user agent.

    Raises NotFound for an unknown list.
    """
    if subscribe:
        newsletters.resubscribe(member, slug, ConsentSource.MEMBER, ip, user_agent, now=now)
    else:
        newsletters.unsubscribe(member.email, slug, newsletters.Actor(ConsentSource.MEMBER, ip, user_agent), now)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _row(obj: Any, *skip: str) -> dict[str, Any]:
    """A model row's columns as JSON-safe values (enums as strings, times in ISO 8601)."""
    out: dict[str, Any] = {}
    for column in obj.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(obj, column.key)
        out[column.key] = _iso(value) if isinstance(value, datetime) else value.isoformat() if isinstance(value, date) else (
            str(value) if hasattr(value, "value") else value)
    return out


def export(member: Member, now: datetime) -> dict[str, Any]:
    """Everything stored about the member, for "Download my data".

    Sign-in tokens are listed without their code hashes: a hash is a secret of ours, not data about them.
    """
    by_member = lambda model: db.session.scalars(select(model).where(model.member_id == member.id)  # noqa: E731
                                                 .order_by(model.id))
    consent = db.session.scalars(select(ConsentRecord).where(
        or_(ConsentRecord.member_id == member.id, ConsentRecord.email == member.email)).order_by(ConsentRecord.id))
    return {
        "exported_at": _iso(now),
        "member": _row(member),
        "subscriptions": [_row(s) for s in member.subscriptions],
        "invoices": [_row(i) for i in by_member(Invoice)],
        "contributions": [_row(c) for c in by_member(Contribution)],
        "statements": [_row(s) for s in by_member(Statement)],
        "email_changes": [_row(e) for e in by_member(EmailChange)],
        "activity": [_row(a) for a in by_member(MemberActivity)],
        "newsletters": [{"list": c.newsletter.slug, "name": c.newsletter.name,
                         "status": str(c.status) if c.status else None} for c in newsletter_choices(member)],
        "consent_records": [_row(c) for c in consent],
        "checkout_attempts": [_row(a) for a in by_member(CheckoutAttempt)],
        "signin_tokens": [_row(t, "code_hash") for t in by_member(SigninToken)],
        "cancellations": [_row(c) for c in by_member(Cancellation)],
        # Gift memberships they bought, and ones given to them; never a link's secret.
        "gifts_given": [_row(g, "token_nonce") for g in db.session.scalars(
            select(Gift).where(Gift.purchaser_id == member.id).order_by(Gift.id))],
        "gifts_received": [_row(g, "token_nonce") for g in db.session.scalars(
            select(Gift).where(or_(Gift.recipient_id == member.id, Gift.recipient_email == member.email)).order_by(Gift.id))],
    }
