"""Email changes that staff ask for on a reader's behalf, confirmed by the new address.

A support user who could move a membership to an address of their choosing could take it
over (and sign in as the reader). So a staff request only queues an `EmailChange`: the new
address gets an `itsdangerous`-signed link naming the row, good for CONFIRM_HOURS and once;
the old address gets a notice naming the new one masked. Opening the link shows a page
(mail scanners fetch links and must not apply anything); its POST applies the change.

An admin may apply a change at once (`change_now`); the old address is told all the same.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from service.domain.emails import queue_email_change_confirmation, queue_email_change_notice
from service.domain.integrations import webhooks
from service.domain.members.comps import locked_member
from service.domain.members.signin import end_reader_sessions
from service.domain.newsletter.subscriptions import move_address
from service.domain.staff import audit
from service.errors import Conflict, DomainError, Forbidden, NotFound
from service.extensions import db
from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event
from service.models import ActivityKind, AuditEntry, EmailChange, Member, MemberActivity, Role, StaffUser

logger = logging.getLogger(__name__)
LINK_SALT = "member-email-change"
CONFIRM_HOURS = 48


class InvalidEmailChange(DomainError):
    """A confirmation link that is forged, expired, cancelled or already used."""

    status = 400
    code = "invalid_email_change_link"


def mask_email(email: str) -> str:
    """`n***@example.org`: enough for the owner of the old address to recognise it, or not."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def confirm_url(change: EmailChange) -> str:
    return f"{current_app.config['BASE_URL']}/account/email/confirm/{_signer().dumps({'c': change.id})}"


def ensure_free(member: Member, email: str) -> None:
    """Raises Conflict when another member has the address."""
    taken = db.session.scalar(select(Member.id).where(Member.email == email, Member.id != member.id))
    if taken is not None:
        raise Conflict(f"Another member (id {taken}) already has the email {email}.")


def _timeline(member: Member, staff_user_id: int | None, detail: str, now: datetime) -> None:
    db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.EMAIL_CHANGED, staff_user_id=staff_user_id,
                                  detail=detail, created_at=now))
    db.session.flush()


def _open_changes(member: Member) -> list[EmailChange]:
    return list(db.session.scalars(select(EmailChange).where(
        EmailChange.member_id == member.id, EmailChange.confirmed_at.is_(None), EmailChange.cancelled_at.is_(None))))


def _close_open_changes(member: Member, actor: StaffUser, now: datetime) -> None:
    """A newer request, or an applied change, makes the earlier links useless."""
    for change in _open_changes(member):
        change.cancelled_at, change.cancelled_by_staff_user_id = now, actor.id
    db.session.flush()


def request_change(member: Member, new_email: str, actor: StaffUser, now: datetime) -> EmailChange:
    """Ask the new address to confirm (a link) and tell the old one (a notice); the email stays as it is.

    The member must be locked by the caller. Raises Conflict when another member has the address.
    """
    ensure_free(member, new_email)
    _close_open_changes(member, actor, now)
    change = EmailChange(member_id=member.id, new_email=new_email, requested_by_staff_user_id=actor.id,
                         created_at=now, expires_at=now + timedelta(hours=CONFIRM_HOURS))
    db.session.add(change)
    db.session.flush()
    masked = mask_email(change.new_email)
    queue_email_change_confirmation(member, change.new_email, change_id=change.id, link=confirm_url(change),
                                    expires_at=change.expires_at)
    queue_email_change_notice(member, member.email, masked, change_id=change.id, applied=False, now=now)
    _timeline(member, actor.id, f"email change to {masked} requested; waits for the new address to confirm", now)
    audit.record(actor, "member.email_change_requested", member, {"email": member.email},
                 {"new_email": change.new_email, "change_id": change.id, "expires_at": change.expires_at.isoformat()},
                 now)
    log_event(logger, "member.email_change_requested", member_id=member.id, staff_user_id=actor.id,
              change_id=change.id)
    return change


def _apply(member: Member, new_email: str, gateway: StripeGateway, now: datetime, *, key: str) -> None:
    """Move the member to the new address: the digest follows, sessions under the old one end, Stripe is told."""
    old_email = member.email
    member.email = new_email
    db.session.flush()
    move_address(member, old_email, now)
    webhooks.publish("member.updated", {"member": member, "previous": {"email": old_email}}, now=now)
    end_reader_sessions(member)
    if member.stripe_customer_id:
        gateway.update_customer(member.stripe_customer_id, key=key, email=new_email)


def change_now(member: Member, new_email: str, actor: StaffUser, gateway: StripeGateway, now: datetime) -> None:
    """An admin's override: apply the change without confirmation, and still tell the old address.

    The member must be locked by the caller. Raises Forbidden below the admin role, Conflict
    when another member has the address.
    """
    if not actor.role.allows(Role.ADMIN):
        raise Forbidden("Only an admin can change an email without confirmation from the new address.")
    ensure_free(member, new_email)
    _close_open_changes(member, actor, now)
    before, old_email = audit.member_snapshot(member), member.email
    queue_email_change_notice(member, old_email, mask_email(new_email), change_id=None, applied=True, now=now)
    _apply(member, new_email, gateway, now, key=f"staff-email-override-{member.id}-{int(now.timestamp() * 1000)}")
    _timeline(member, actor.id, f"email changed to {mask_email(new_email)} by an admin, without confirmation", now)
    audit.record(actor, "member.email_changed_by_override", member, before, audit.member_snapshot(member), now)
    log_event(logger, "member.email_changed_by_override", member_id=member.id, staff_user_id=actor.id)


def _change_id(signed: str) -> int:
    try:
        data = _signer().loads(signed)
    except BadSignature:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        raise InvalidEmailChange("This confirmation link is not valid. Please use the link from the email "
                                 "exactly as it is.")
    return data["c"]


def _usable(change: EmailChange | None, now: datetime) -> EmailChange:
    if change is None:
        raise InvalidEmailChange("This confirmation link is not valid. Please use the link from the email "
                                 "exactly as it is.")
    if change.confirmed_at is not None:
        raise InvalidEmailChange("This confirmation link has already been used: the email was changed then.",
                                 code="email_change_used")
    if change.cancelled_at is not None:
        raise InvalidEmailChange("This email change was cancelled. If you still want it, please contact us.",
                                 code="email_change_cancelled")
    if now >= change.expires_at:
        raise InvalidEmailChange(f"This confirmation link has expired: links work for {CONFIRM_HOURS} hours. "
                                 "Please contact us for a new one.", code="email_change_expired")
    return change


def change_for_link(signed: str, now: datetime) -> EmailChange:
    """The pending change a link names, changing nothing. Raises InvalidEmailChange."""
    return _usable(db.session.get(EmailChange, _change_id(signed)), now)


def confirm(signed: str, gateway: StripeGateway, now: datetime) -> Member:
    """Apply the change a link names, once. Raises InvalidEmailChange, or Conflict when another
    member took the address meanwhile. Audited as `member.email_changed` under the requester."""
    change = db.session.get(EmailChange, _change_id(signed))
    member = locked_member(change.member_id) if change is not None else None
    if change is not None:
        db.session.refresh(change)  # read again under the member's lock: a second POST sees the first
    change = _usable(change, now)
    assert member is not None
    ensure_free(member, change.new_email)
    before = audit.member_snapshot(member)
    change.confirmed_at = now
    _apply(member, change.new_email, gateway, now, key=f"email-change-{change.id}")
    _timeline(member, change.requested_by_staff_user_id, f"email change to {mask_email(change.new_email)} "
              "confirmed by the new address", now)
    db.session.add(AuditEntry(staff_user_id=change.requested_by_staff_user_id, action="member.email_changed",
                              member_id=member.id, before=before,
                              after=audit.member_snapshot(member) | {
                                  "change_id": change.id, "requested_by": change.requested_by_staff_user_id,
                                  "confirmed_by": "new address"}, created_at=now))
    db.session.flush()
    log_event(logger, "member.email_changed", member_id=member.id, change_id=change.id,
              staff_user_id=change.requested_by_staff_user_id)
    return member


def cancel(member_id: int, change_id: int, actor: StaffUser, now: datetime) -> EmailChange:
    """Cancel a change that is still open: its link stops working. Raises NotFound otherwise."""
    member = locked_member(member_id)
    change = next((c for c in _open_changes(member) if c.id == change_id), None)
    if change is None:
        raise NotFound(f"Member {member_id} has no open email change {change_id}.")
    change.cancelled_at, change.cancelled_by_staff_user_id = now, actor.id
    _timeline(member, actor.id, f"email change to {mask_email(change.new_email)} cancelled", now)
    audit.record(actor, "member.email_change_cancelled", member, None, {"change_id": change.id}, now)
    log_event(logger, "member.email_change_cancelled", member_id=member.id, staff_user_id=actor.id,
              change_id=change.id)
    return change
