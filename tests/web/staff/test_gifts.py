"""The console's gift memberships: the list by status, a gift's page, and what staff may do to it
(resend, move the date, revoke), each by role, audited. The refund itself is tested against the
Stripe sandbox in tests/web/public/test_gift.py."""
from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import select

from service.db import utcnow
from service.models import AuditEntry, GiftStatus, OutboxMessage
from tests.factories import make_gift, make_member


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def test_the_list_counts_each_status_and_filters_by_it(staff_login, db_session):
    grace = make_member(name="Grace Giver")
    make_gift(grace, recipient_email="soon@example.org", deliver_on=utcnow().date() + timedelta(days=9))
    make_gift(grace, recipient_email="sent@example.org", status=GiftStatus.DELIVERED, amount=5000, months=12)
    db_session.commit()
    staff = staff_login("viewer")
    page = staff.get("/staff/gifts")
    assert page.status_code == 200
    text = text_of(page)
    assert "All (2)" in text and "Scheduled (1)" in text and "Delivered (1)" in text and "Redeemed (0)" in text
    assert "soon@example.org" in text and "sent@example.org" in text and "$50.00" in text
    only = text_of(staff.get("/staff/gifts?status=delivered"))
    assert "sent@example.org" in only and "soon@example.org" not in only
    assert staff.get("/staff/gifts?status=lost").status_code == 422
    assert 'href="/staff/gifts"' in staff.get("/staff/dashboard").get_data(as_text=True)


def test_support_moves_the_date_and_resends_and_each_is_audited(staff_login, db_session):
    gift = make_gift(make_member(), recipient_email="later@example.org", deliver_on=utcnow().date() + timedelta(days=30))
    db_session.commit()
    viewer = staff_login("viewer")
    assert "Change the date" not in viewer.get(f"/staff/gifts/{gift.id}").get_data(as_text=True)
    assert viewer.post(f"/staff/gifts/{gift.id}/resend").status_code == 403

    support = staff_login("support")
    day = utcnow().date() + timedelta(days=3)
    moved = support.post(f"/staff/gifts/{gift.id}/reschedule", data={"deliver_on": day.isoformat()})
    assert moved.status_code == 303
    db_session.refresh(gift)
    assert (gift.deliver_on, gift.status) == (day, GiftStatus.SCHEDULED)
    past = support.post(f"/staff/gifts/{gift.id}/reschedule", data={"deliver_on": "2001-01-01"})
    assert past.status_code == 422 and "Choose today or a day to come." in past.get_data(as_text=True)

    sent = support.post(f"/staff/gifts/{gift.id}/resend")  # a scheduled gift: sent now
    assert sent.status_code == 303
    db_session.refresh(gift)
    assert gift.status is GiftStatus.DELIVERED
    emails = db_session.scalars(select(OutboxMessage).where(OutboxMessage.key == f"email:gift:{gift.id}")).all()
    assert len(emails) == 1 and emails[0].payload["to"] == "later@example.org"
    support.post(f"/staff/gifts/{gift.id}/resend")  # delivered: the same link again
    assert len(db_session.scalars(select(OutboxMessage).where(OutboxMessage.key == f"email:gift:{gift.id}")).all()) == 2
    actions = db_session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("gift.%"))).all()
    assert sorted(actions) == ["gift.rescheduled", "gift.resent", "gift.resent"]


def test_only_an_admin_with_a_recent_sign_in_revokes(staff_login, db_session):
    gift = make_gift(make_member(), status=GiftStatus.DELIVERED)
    db_session.commit()
    assert staff_login("support").post(f"/staff/gifts/{gift.id}/revoke").status_code == 403
    admin = staff_login("admin")
    admin.age_login(60 * 24)
    stale = admin.post(f"/staff/gifts/{gift.id}/revoke")
    assert stale.status_code in (302, 303) and "reauth" in stale.location
    db_session.refresh(gift)
    assert gift.status is GiftStatus.DELIVERED
    fresh = staff_login("admin")
    assert fresh.post(f"/staff/gifts/{gift.id}/revoke").status_code == 303
    db_session.refresh(gift)
    assert gift.status is GiftStatus.REVOKED and gift.revoked_at is not None
    again = fresh.post(f"/staff/gifts/{gift.id}/revoke")
    assert again.status_code == 422 and "nothing to revoke" in again.get_data(as_text=True)
    assert db_session.scalar(select(AuditEntry).where(AuditEntry.action == "gift.revoked")) is not None
