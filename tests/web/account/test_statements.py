"""A reader's giving on /account, and their annual statements as PDF downloads."""
from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from tests.factories import make_contribution, make_member
from tests.web.readers import sign_in_as


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def donor(app, client, db_session, monkeypatch):
    """A signed-in reader who gave in fiscal 2025 and 2026 (years from 1 July), one gift partly refunded."""
    monkeypatch.setitem(app.config, "FISCAL_YEAR_START_MONTH", 7)
    someone = make_member(name="Dana Giver", email="dana@example.org")
    make_contribution(someone, 2500, paid_at=at(2024, 12, 24))
    make_contribution(someone, 1000, "eur", paid_at=at(2025, 7, 1), refunded_amount=300)
    db_session.commit()
    sign_in_as(client, someone)
    return someone


def visible_text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def test_the_account_page_lists_contributions_and_a_statement_per_year_given(client, donor):
    page = client.get("/account")
    text = visible_text(page)
    assert "Giving" in text
    assert "1 July 2025 One-time gift €10.00 €3.00" in text
    assert "24 December 2024 One-time gift $25.00 –" in text
    body = page.get_data(as_text=True)
    assert body.index('href="/account/statements/2026.pdf"') < body.index('href="/account/statements/2025.pdf"')
    assert "Statement for fiscal year 2025 (PDF) 1 July 2024 to 30 June 2025" in text


def test_a_reader_downloads_their_statement_for_a_year_they_gave_in(client, donor):
    answer = client.get("/account/statements/2026.pdf")

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="giving-statement-2026.pdf"'
    text = " ".join(PdfReader(io.BytesIO(answer.data)).pages[0].extract_text().split())
    assert "Donor: Dana Giver" in text and "1 July 2025 to 30 June 2026" in text
    assert "Total, net of refunds and disputes EUR: €7.00" in text
    assert "$25.00" not in text  # that gift belongs to fiscal 2025


def test_no_statement_for_a_year_without_giving_nor_for_someone_elses(client, db_session, donor):
    other = make_member()
    make_contribution(other, 5000, paid_at=at(2023, 3, 1))  # fiscal 2023: someone else's year
    db_session.commit()
    for year in (2024, 2023, 2027):
        answer = client.get(f"/account/statements/{year}.pdf")
        assert answer.status_code == 404
        assert "no contributions were paid in it" in html.unescape(answer.get_data(as_text=True))


def test_a_visitor_is_sent_to_sign_in_first(client, db_session):
    answer = client.get("/account/statements/2026.pdf")
    assert answer.status_code == 303
    assert answer.location == "/signin?next=/account/statements/2026.pdf"
