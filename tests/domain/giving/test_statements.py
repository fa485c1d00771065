"""Annual giving statements: which contributions a fiscal year holds, the totals net of refunds,
the PDF a donor reads, and when a statement counts as changed (so it is sent again)."""
from __future__ import annotations

import io
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from service.domain.giving import donors, statements
from service.errors import NotFound, ValidationFailed
from service.models import ContributionKind, OutboxMessage, Statement
from tests.factories import make_contribution, make_member

NOW = datetime(2026, 9, 1, 12, tzinfo=UTC)


def pdf_text(data: bytes) -> str:
    """The PDF's text as a reader's copy-paste gives it, whitespace collapsed (and Arabic presentation
    forms read back as letters)."""
    assert data.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(unicodedata.normalize("NFKC", text).split())


@pytest.fixture
def july_years(app, monkeypatch):
    """A fiscal year from 1 July to 30 June, and the organisation's legal details."""
    monkeypatch.setitem(app.config, "FISCAL_YEAR_START_MONTH", 7)
    monkeypatch.setitem(app.config, "RECEIPT_ORG_NAME", "Harbour News Foundation")
    monkeypatch.setitem(app.config, "RECEIPT_TAX_ID", "EIN 12-3456789")
    monkeypatch.setitem(app.config, "RECEIPT_STATEMENT", "No goods or services were provided in exchange.")


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_a_fiscal_year_is_named_by_the_year_it_ends_in(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "FISCAL_YEAR_START_MONTH", 7)
    fy = statements.fiscal_year(2026)
    assert (fy.start, fy.end) == (at(2025, 7, 1), at(2026, 7, 1))
    assert fy.period == "1 July 2025 to 30 June 2026"
    assert statements.fiscal_year_of(at(2025, 6, 30, 23, 59)) == 2025
    assert statements.fiscal_year_of(at(2025, 7, 1)) == 2026
    monkeypatch.setitem(app.config, "FISCAL_YEAR_START_MONTH", 1)
    calendar = statements.fiscal_year(2026)
    assert (calendar.start, calendar.end, calendar.period) == (at(2026, 1, 1), at(2027, 1, 1), "1 January 2026 to 31 December 2026")
    assert statements.fiscal_year_of(at(2026, 12, 31, 23, 59)) == 2026


def test_a_year_not_begun_or_out_of_range_is_refused_with_the_reason(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "FISCAL_YEAR_START_MONTH", 7)
    with pytest.raises(ValidationFailed, match="Fiscal year 2028 has not started yet: the current fiscal year is 2027"):
        statements.past_or_current_year(2028, NOW)
    with pytest.raises(ValidationFailed, match="from 2000 on"):
        statements.past_or_current_year(1999, NOW)
    assert statements.past_or_current_year(2027, NOW).year == 2027  # the year under way may be built


def test_the_pdf_lists_the_years_contributions_and_totals_net_of_refunds(db_session, july_years):
    donor = make_member(name="Zoë Ångström-Núñez", email="zoe@example.org")
    before = make_contribution(donor, 1000, paid_at=at(2025, 6, 30, 23, 59, 59))  # fiscal 2025
    first = make_contribution(donor, 2500, kind=ContributionKind.MEMBERSHIP, paid_at=at(2025, 7, 1))
    euros = make_contribution(donor, 1000, "eur", paid_at=at(2025, 12, 15), refunded_amount=400)
    refunded = make_contribution(donor, 5000, paid_at=at(2026, 3, 1), refunded_amount=5000)
    last = make_contribution(donor, 1500, kind=ContributionKind.GIFT_PURCHASE, paid_at=at(2026, 6, 30, 23, 59, 59))
    after = make_contribution(donor, 9900, paid_at=at(2026, 7, 1))  # fiscal 2027

    text = pdf_text(statements.pdf_for(donor.id, 2026, NOW))

    assert "Harbour News Foundation" in text and "Tax id: EIN 12-3456789" in text
    assert "Giving statement, fiscal year 2026" in text
    assert "Contributions paid from 1 July 2025 to 30 June 2026" in text
    assert "Donor: Zoë Ångström-Núñez" in text and "Email: zoe@example.org" in text
    assert f"2025-07-01 {first.receipt_number} Membership $25.00 - - $25.00" in text
    assert f"2025-12-15 {euros.receipt_number} One-time gift €10.00 €4.00 - €6.00" in text
    assert f"2026-03-01 {refunded.receipt_number} One-time gift $50.00 $50.00 - $0.00" in text
    assert f"2026-06-30 {last.receipt_number} Gift membership $15.00 - - $15.00" in text
    assert before.receipt_number not in text and after.receipt_number not in text
    assert "Total, net of refunds and disputes EUR: €6.00 USD: $40.00" in text
    assert "No goods or services were provided in exchange." in text


def test_building_records_the_statement_and_a_rebuild_changes_it_only_when_the_giving_changed(db_session, july_years):
    donor = make_member()
    gift = make_contribution(donor, 2500, paid_at=at(2025, 8, 1))
    make_contribution(donor, 700, "chf", paid_at=at(2026, 2, 1), disputed_amount=700)
    fy = statements.fiscal_year(2026)

    first = statements.build(donor.id, fy, NOW, send=False)
    row = db_session.scalars(select(Statement).where(Statement.member_id == donor.id)).one()
    assert first.change is statements.Change.NEW
    assert (row.fiscal_year, row.contributions, row.totals, row.built_at, row.sent_at) == (2026, 2, {"chf": 0, "usd": 2500}, NOW, None)

    later = NOW + timedelta(days=1)
    assert statements.build(donor.id, fy, later, send=False).change is statements.Change.UNCHANGED
    assert row.built_at == NOW

    gift.refunded_amount = 1000
    assert statements.build(donor.id, fy, later, send=False).change is statements.Change.CHANGED
    assert (row.totals, row.built_at) == ({"chf": 0, "usd": 1500}, later)


def test_a_donor_whose_gifts_were_all_refunded_still_gets_a_statement_showing_the_refund(db_session, july_years):
    donor = make_member(name="Sam Refund")
    gift = make_contribution(donor, 3000, paid_at=at(2026, 1, 10), refunded_amount=3000)

    outcome = statements.build(donor.id, statements.fiscal_year(2026), NOW, send=True)

    assert outcome.sent
    text = pdf_text(statements.pdf_for(donor.id, 2026, NOW))
    assert f"2026-01-10 {gift.receipt_number} One-time gift $30.00 $30.00 - $0.00" in text
    assert "Total, net of refunds and disputes USD: $0.00" in text


def test_sending_queues_the_current_version_once(db_session, july_years):
    donor = make_member()
    gift = make_contribution(donor, 2500, paid_at=at(2025, 8, 1))
    fy = statements.fiscal_year(2026)

    assert statements.build(donor.id, fy, NOW, send=True).sent
    assert not statements.build(donor.id, fy, NOW + timedelta(hours=1), send=True).sent  # unchanged: not again
    gift.refunded_amount = 500
    assert statements.build(donor.id, fy, NOW + timedelta(hours=2), send=True).sent  # corrected: once more

    queued = db_session.scalars(select(OutboxMessage).where(OutboxMessage.key == f"email:member:{donor.id}",
                                                            OutboxMessage.dedupe_key.like("statement:%"))).all()
    assert len(queued) == 2
    [pdf] = queued[-1].payload["attachments"]
    assert (pdf["filename"], pdf["content_type"]) == ("giving-statement-2026.pdf", "application/pdf")


def test_no_statement_for_a_year_without_contributions(db_session, july_years):
    donor = make_member()
    make_contribution(donor, 2500, paid_at=at(2026, 7, 1))  # fiscal 2027
    assert statements.build(donor.id, statements.fiscal_year(2026), NOW, send=True) is None
    for year in (2026, 1, 99999):
        with pytest.raises(NotFound):
            statements.pdf_for(donor.id, year, NOW)


def test_names_in_other_scripts_print_in_reading_order(db_session, july_years):
    arabic = make_member(name="أحمد علي", email="ahmed@example.org")
    chinese = make_member(name="王小明", email="wang@example.org")
    for donor in (arabic, chinese):
        make_contribution(donor, 2500, paid_at=at(2025, 9, 1))

    assert "Donor: أحمد علي" in pdf_text(statements.pdf_for(arabic.id, 2026, NOW))
    # The bundled font has no CJK glyphs: the name is marked as unprintable, and the email says who it is.
    text = pdf_text(statements.pdf_for(chinese.id, 2026, NOW))
    assert "Donor: ???" in text and "Email: wang@example.org" in text


def test_donors_of_a_year_are_read_a_page_at_a_time_with_their_totals(db_session, july_years):
    fy = statements.fiscal_year(2026)
    givers = [make_member() for _ in range(5)]
    for n, donor in enumerate(givers):
        make_contribution(donor, 1000 * (n + 1), paid_at=at(2025, 7, 1) + timedelta(days=n))
        make_contribution(donor, 100, "eur", paid_at=at(2026, 1, 1))
    make_contribution(make_member(), 5000, paid_at=at(2025, 6, 30))  # fiscal 2025 only

    pages = list(donors.donor_pages(fy, batch=2))

    assert pages == [[givers[0].id, givers[1].id], [givers[2].id, givers[3].id], [givers[4].id]]
    assert donors.count_donors(fy) == 5
    assert donors.year_totals(fy) == {"eur": 500, "usd": 15000}
    page = donors.overview(fy, limit=2)
    assert [d.member_id for d in page.page] == pages[0] and page.next_cursor == givers[1].id
    assert (page.page[1].contributions, page.page[1].totals) == (2, {"eur": 100, "usd": 2000})
