"""Staff ask for an email change; only the new address applies it (an admin may override), and the
old address is always told. Staff-sent sign-in links say so, in the email and on the timeline."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db import utcnow
from service.domain.members import email_change
from service.domain.members.email_change import InvalidEmailChange
from service.domain.staff.actions import edit_member, resend_signin_link
from service.errors import Conflict, Forbidden
from service.extensions import db
from service.models import ActivityKind, AuditEntry, EmailChange, ListSubscription, MemberActivity, OutboxMessage
from tests.factories import make_member, make_staff

LINK = re.compile(r"http://localhost/account/email/confirm/(\S+)")


@pytest.fixture(scope="module")
def app(sandbox_app):
    """The sandbox-backed app: a confirmed change reaches the Stripe customer."""
    return sandbox_app


def emails_to(address: str, kind: str | None = None) -> list[dict]:
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email").order_by(OutboxMessage.id))
    return [row.payload for row in rows if row.payload["to"] == address and kind in (None, row.payload["kind"])]


def token_in(email: dict) -> str:
    found = LINK.search(email["text"])
    assert found, email["text"]
    return found.group(1)


def test_a_support_users_change_waits_for_the_new_address_to_confirm(db_session, paying):
    member, _sub, stripe = paying
    support = make_staff("support")
    old_email, version = member.email, member.session_version
    done = edit_member(member.id, support, stripe, utcnow(), email="New.Address@example.org", name=member.name)
    assert member.email == old_email and done.pending is not None and not done.email_changed
    assert stripe.retrieve_customer(member.stripe_customer_id)["email"] == old_email
    [notice] = emails_to(old_email, "email_change_notice")
    assert "n***@example.org" in notice["text"] and "new.address@example.org" not in notice["text"]
    assert "asked to change the email" in notice["text"] and "If this wasn't you" in notice["text"]
    [confirm] = emails_to("new.address@example.org")
    member = email_change.confirm(token_in(confirm), stripe, utcnow())
    assert member.email == "new.address@example.org" and member.session_version == version + 1
    assert stripe.retrieve_customer(member.stripe_customer_id)["email"] == "new.address@example.org"
    [digest] = db_session.query(ListSubscription).filter_by(member_id=member.id).all()
    assert digest.email == "new.address@example.org"
    entry = db_session.query(AuditEntry).filter_by(action="member.email_changed").one()
    assert entry.staff_user_id == support.id and entry.after["requested_by"] == support.id
    assert (entry.before["email"], entry.after["email"]) == (old_email, "new.address@example.org")


def test_the_link_is_refused_once_used_or_expired(db_session):
    member = make_member()
    support = make_staff("support")
    edit_member(member.id, support, None, utcnow(), email="moved@example.org", name=member.name)  # type: ignore[arg-type]
    token = token_in(emails_to("moved@example.org")[0])
    with pytest.raises(InvalidEmailChange, match="expired"):
        email_change.confirm(token, None, utcnow() + timedelta(hours=49))  # type: ignore[arg-type]
    assert member.email != "moved@example.org"
    email_change.confirm(token, None, utcnow())  # type: ignore[arg-type]
    with pytest.raises(InvalidEmailChange, match="already been used"):
        email_change.confirm(token, None, utcnow())  # type: ignore[arg-type]
    with pytest.raises(InvalidEmailChange, match="not valid"):
        email_change.change_for_link(token[:-2] + "xx", utcnow())


def test_a_name_change_alone_applies_at_once(db_session):
    member = make_member()
    done = edit_member(member.id, make_staff("support"), None, utcnow(), email=member.email,  # type: ignore[arg-type]
                       name="Ada Lovelace")
    assert member.name == "Ada Lovelace" and done.pending is None
    assert db_session.query(EmailChange).filter_by(member_id=member.id).count() == 0


def test_an_admin_override_applies_at_once_is_audited_and_still_tells_the_old_address(db_session, paying):
    member, _sub, stripe = paying
    admin = make_staff("admin")
    old_email = member.email
    done = edit_member(member.id, admin, stripe, utcnow(), email="now@example.org", name=member.name, override=True)
    assert done.email_changed and member.email == "now@example.org"
    assert stripe.retrieve_customer(member.stripe_customer_id)["email"] == "now@example.org"
    entry = db_session.query(AuditEntry).filter_by(action="member.email_changed_by_override").one()
    assert (entry.staff_user_id, entry.before["email"], entry.after["email"]) == (admin.id, old_email, "now@example.org")
    [notice] = emails_to(old_email, "email_change_notice")
    assert "changed the email on your membership to n***@example.org" in notice["text"]


def test_a_support_user_cannot_override(db_session):
    member = make_member()
    old_email = member.email
    with pytest.raises(Forbidden, match="Only an admin"):
        edit_member(member.id, make_staff("support"), None, utcnow(), email="x@example.org",  # type: ignore[arg-type]
                    name=member.name, override=True)
    assert member.email == old_email
    assert db_session.query(EmailChange).filter_by(member_id=member.id).count() == 0


def test_a_taken_address_is_refused_and_a_cancelled_change_cannot_be_confirmed(db_session):
    member, other = make_member(), make_member()
    support = make_staff("support")
    with pytest.raises(Conflict, match="already has the email"):
        edit_member(member.id, support, None, utcnow(), email=other.email, name=member.name)  # type: ignore[arg-type]
    done = edit_member(member.id, support, None, utcnow(), email="later@example.org", name=member.name)  # type: ignore[arg-type]
    assert done.pending is not None
    email_change.cancel(member.id, done.pending.id, support, utcnow())
    with pytest.raises(InvalidEmailChange, match="cancelled"):
        email_change.confirm(token_in(emails_to("later@example.org")[0]), None, utcnow())  # type: ignore[arg-type]


def test_a_newer_request_cancels_the_earlier_link(db_session):
    member = make_member()
    support = make_staff("support")
    edit_member(member.id, support, None, utcnow(), email="first@example.org", name=member.name)  # type: ignore[arg-type]
    edit_member(member.id, support, None, utcnow(), email="second@example.org", name=member.name)  # type: ignore[arg-type]
    with pytest.raises(InvalidEmailChange, match="cancelled"):
        email_change.confirm(token_in(emails_to("first@example.org")[0]), None, utcnow())  # type: ignore[arg-type]


def test_a_sign_in_link_sent_by_staff_says_so_and_shows_on_the_timeline(db_session):
    member = make_member()
    support = make_staff("support")
    resend_signin_link(member.id, support, utcnow())
    [email] = emails_to(member.email, "signin")
    assert "A member of our staff sent you this sign-in link at your request" in email["text"]
    assert "A member of our staff sent you this sign-in link" in email["html"]
    line = db_session.query(MemberActivity).filter_by(member_id=member.id, kind=ActivityKind.SIGNIN_SENT).one()
    assert line.staff_user_id == support.id
