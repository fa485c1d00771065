"""The console's statements page: a year's donors and their statements, "build and send all"
for support and admins (recent sign-in, audited), and each donor's PDF."""
from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from service.db import utcnow
from service.domain.giving.statements import fiscal_year, fiscal_year_of
from service.models import AuditEntry, OutboxMessage, Statement
from tests.factories import make_contribution, make_member


@pytest.fixture
def year(app, db_session, monkeypatch):
    """The last fiscal year that ended (years from 1 July), with two donors in it and one just before it."""
    monkeypatch.setitem(app.config, "FISCAL_YEAR_START_MONTH", 7)
    fy = fiscal_year(fiscal_year_of(utcnow()) - 1)
    ada, bo = make_member(email="ada@example.org", name="Ada"), make_member(email="bo@example.org", name="Bo")
    make_contribution(ada, 2500, paid_at=fy.start)
    make_contribution(ada, 1000, paid_at=fy.start + timedelta(days=40), refunded_amount=1000)
    make_contribution(bo, 700, "eur", paid_at=fy.end - timedelta(seconds=1))
    make_contribution(make_member(email="earlier@example.org"), 9900, paid_at=fy.start - timedelta(seconds=1))
    db_session.commit()
    return fy


def text_of(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def rows(response) -> dict[str, str]:
    """Each donor row's text, by the donor's email."""
    found = re.findall(r"<tr>(.*?)</tr>", response.get_data(as_text=True), re.S)
    return {m.group(1): " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())
            for row in found if (m := re.search(r">([^<>@\s]+@example\.org)<", row))}


def count(db_session, model, *where) -> int:
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_page_shows_the_years_donors_totals_and_statement_state(staff_login, year):
    page = staff_login("viewer").get("/staff/statements")  # the last year that ended, by default

    assert page.status_code == 200
    text = text_of(page)
    assert f"Fiscal year {year.year} Dates {year.period} (UTC) Donors 2" in text
    assert "Total, net of refunds and disputes €7.00 + $25.00 Statements sent 0 of 2" in text
    assert rows(page) == {"ada@example.org": "ada@example.org Ada 2 $25.00 Not built Download the statement of ada@example.org",
                          "bo@example.org": "bo@example.org Bo 1 €7.00 Not built Download the statement of bo@example.org"}
    body = page.get_data(as_text=True)
    assert '<label for="statements-year">' in body and '<th scope="col">Statement</th>' in body
    assert "Sending statements needs the support role." in text and "Build and send all" not in text


def test_support_builds_and_sends_all_once_and_the_page_shows_who_got_one(staff_login, db_session, year):
    support = staff_login("support")
    page = support.get(f"/staff/statements?year={year.year}")
    assert "Build and send all" in text_of(page)

    done = support.post("/staff/statements/send", {"year": str(year.year)})

    assert done.status_code == 303
    after = support.get(done.headers["Location"])
    assert f"2 statement(s) for fiscal year {year.year} built and queued; the worker emails them." in text_of(after)
    assert all(" Sent " in row for row in rows(after).values()) and len(rows(after)) == 2
    assert "Statements sent 2 of 2" in text_of(after)
    statements = db_session.scalars(select(Statement).order_by(Statement.member_id)).all()
    assert [s.sent_at is not None and s.staff_user_id == support.user.id for s in statements] == [True, True]
    assert count(db_session, AuditEntry, AuditEntry.action == "statement.sent", AuditEntry.staff_user_id == support.user.id) == 2
    queued = db_session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("statement:%"))).all()
    assert sorted(m.payload["to"] for m in queued) == ["ada@example.org", "bo@example.org"]
    assert all(m.payload["attachments"][0]["content_type"] == "application/pdf" for m in queued)

    again = support.post("/staff/statements/send", {"year": str(year.year)})
    assert f"Every donor's statement for fiscal year {year.year} has been sent already." in text_of(support.get(again.headers["Location"]))
    assert count(db_session, OutboxMessage, OutboxMessage.dedupe_key.like("statement:%")) == 2


def test_a_viewer_cannot_send(staff_login, db_session, year):
    response = staff_login("viewer").post("/staff/statements/send", {"year": str(year.year)})
    assert response.status_code == 403 and "needs the support role" in response.get_data(as_text=True)
    assert count(db_session, Statement) == 0 and count(db_session, OutboxMessage) == 0


def test_sending_asks_for_the_password_again_after_a_while(staff_login, db_session, year):
    admin = staff_login("admin")
    admin.age_login(60)
    response = admin.post("/staff/statements/send", {"year": str(year.year)}, headers={"Referer": "/staff/statements"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/reauth")
    assert count(db_session, Statement) == 0


def test_staff_download_a_donors_statement(staff_login, year):
    viewer = staff_login("viewer")
    link = re.search(r'href="(/staff/statements/\d+/(\d+)\.pdf)"', viewer.get("/staff/statements").get_data(as_text=True))
    assert link, "no download link"
    answer = viewer.get(link.group(1))
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="giving-statement-{year.year}-member-{link.group(2)}.pdf"'
    text = " ".join(PdfReader(io.BytesIO(answer.data)).pages[0].extract_text().split())
    assert "Email: ada@example.org" in text and "USD: $25.00" in text


@pytest.mark.parametrize("query, complaint", [("year=2999", "has not started yet"), ("year=soon", "Not a valid integer")])
def test_a_bad_year_is_a_clear_422(staff_login, db_session, query, complaint):
    response = staff_login("viewer").get(f"/staff/statements?{query}")
    assert response.status_code == 422 and complaint in html.unescape(response.get_data(as_text=True))


def test_anonymous_visitors_are_sent_to_sign_in(anonymous, db_session):
    for path in ("/staff/statements", "/staff/statements/2026/1.pdf"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
