"""The console's email change: support asks, the new address confirms on a page (GET shows a
button, the POST applies), admins may override, and staff-sent sign-in links say so."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from service.db import utcnow
from service.extensions import db
from service.models import AuditEntry, EmailChange, OutboxMessage
from tests.factories import make_member
from tests.web.readers import csrf

LINK = re.compile(r"http://localhost(/account/email/confirm/\S+)")


def emails_to(address: str, kind: str) -> list[dict]:
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "email").order_by(OutboxMessage.id))
    return [row.payload for row in rows if row.payload["to"] == address and row.payload["kind"] == kind]


def confirm_path(address: str) -> str:
    [email] = emails_to(address, "email_change_confirm")
    found = LINK.search(email["text"])
    assert found, email["text"]
    return found.group(1)


def ask(session, member, email: str, **extra: str):
    return session.post(f"/staff/members/{member.id}/edit", {"email": email, "name": member.name, **extra})


def test_a_support_users_change_waits_and_only_the_post_from_the_link_applies_it(staff_login, client, db_session):
    member = make_member()
    db_session.commit()
    old_email = member.email
    support = staff_login("support")
    answer = ask(support, member, "new@example.org")
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    assert member.email == old_email
    [notice] = emails_to(old_email, "email_change_notice")
    assert "n***@example.org" in notice["text"] and "new@example.org" not in notice["text"]
    page = support.get(f"/staff/members/{member.id}").get_data(as_text=True)
    assert "Pending email changes" in page and "new@example.org" in page and support.user.email in page
    path = confirm_path("new@example.org")
    shown = client.get(path)  # what a mail scanner does
    assert shown.status_code == 200 and "<button" in shown.get_data(as_text=True)
    db_session.expire_all()
    assert member.email == old_email
    token = csrf(client, path)
    done = client.post(path, data={"csrf_token": token})
    assert done.status_code == 200, done.get_data(as_text=True)[:500]
    assert member.email == "new@example.org"
    assert db_session.query(AuditEntry).filter_by(action="member.email_changed", member_id=member.id).one()
    again = client.post(path, data={"csrf_token": token})
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)


def test_the_confirm_post_needs_a_csrf_token(staff_login, client, db_session):
    member = make_member()
    db_session.commit()
    ask(staff_login("support"), member, "csrf@example.org")
    assert client.post(confirm_path("csrf@example.org"), data={}).status_code == 400
    assert member.email != "csrf@example.org"


def test_an_expired_link_is_refused_with_a_clear_message(staff_login, client, db_session):
    member = make_member()
    db_session.commit()
    ask(staff_login("support"), member, "late@example.org")
    change = db_session.query(EmailChange).filter_by(member_id=member.id).one()
    change.expires_at = utcnow() - timedelta(minutes=1)
    db_session.commit()
    answer = client.get(confirm_path("late@example.org"))
    assert answer.status_code == 400 and "expired" in answer.get_data(as_text=True)


def test_an_admin_override_applies_at_once_is_audited_and_tells_the_old_address(staff_login, db_session):
    member = make_member()
    db_session.commit()
    old_email = member.email
    answer = ask(staff_login("admin"), member, "now@example.org", apply_now="y")
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    assert member.email == "now@example.org"
    assert db_session.query(AuditEntry).filter_by(action="member.email_changed_by_override").one().member_id == member.id
    [notice] = emails_to(old_email, "email_change_notice")
    assert "changed the email on your membership to n***@example.org" in notice["text"]


def test_a_support_user_asking_to_override_is_forbidden(staff_login, db_session):
    """A support user who ticks the box (it is not shown to them) gets 403, and nothing changes."""
    member = make_member()
    db_session.commit()
    old_email = member.email
    support = staff_login("support")
    assert 'name="apply_now"' not in support.get(f"/staff/members/{member.id}").get_data(as_text=True)
    answer = ask(support, member, "mine@example.org", apply_now="y")
    assert answer.status_code == 403
    assert member.email == old_email
    assert db_session.query(EmailChange).filter_by(member_id=member.id).count() == 0


def test_staff_cancel_a_pending_change_and_its_link_stops_working(staff_login, client, db_session):
    member = make_member()
    db_session.commit()
    support = staff_login("support")
    ask(support, member, "gone@example.org")
    change = db_session.query(EmailChange).filter_by(member_id=member.id).one()
    answer = support.post(f"/staff/members/{member.id}/email-changes/{change.id}/cancel")
    assert answer.status_code == 303 and change.cancelled_at is not None
    refused = client.get(confirm_path("gone@example.org"))
    assert refused.status_code == 400 and "cancelled" in refused.get_data(as_text=True)


def test_a_sign_in_link_sent_by_staff_says_so_and_is_on_the_timeline(staff_login, db_session):
    member = make_member()
    db_session.commit()
    support = staff_login("support")
    assert support.post(f"/staff/members/{member.id}/signin-link").status_code == 303
    [email] = emails_to(member.email, "signin")
    assert "A member of our staff sent you this sign-in link at your request" in email["text"]
    page = support.get(f"/staff/members/{member.id}").get_data(as_text=True)
    assert "sign-in link emailed by staff at the member&#39;s request" in page
