"""`membership statements build`: what an operator sees, what a dry run leaves alone, and the
emails --send queues, delivered over real SMTP with the PDF attached."""
from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from service.gateways.mail import mail_from_config
from service.jobs import deliver_outbox
from service.models import OutboxMessage, Statement
from tests.factories import make_contribution, make_member


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture
def donors(app, db_session, monkeypatch):
    """Fiscal years from 1 July; two donors in fiscal 2025 (one partly refunded), one only before it."""
    monkeypatch.setitem(app.config, "FISCAL_YEAR_START_MONTH", 7)
    ada, bo = make_member(name="Ada Donor", email="ada@example.org"), make_member(name="Bo Donor", email="bo@example.org")
    make_contribution(ada, 2500, paid_at=at(2024, 7, 1))
    make_contribution(ada, 1000, "eur", paid_at=at(2025, 3, 3), refunded_amount=250)
    make_contribution(bo, 5000, paid_at=at(2025, 6, 30, 23))
    make_contribution(make_member(email="early@example.org"), 9900, paid_at=at(2024, 6, 30))  # fiscal 2024
    db_session.commit()
    return ada, bo


def count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


def test_a_dry_run_reports_the_year_and_writes_nothing(cli, db_session, donors):
    result = cli("statements", "build", "--year", "2025", "--send", "--dry-run")

    assert result.exit_code == 0, result.output
    assert "Fiscal year 2025: 1 July 2024 to 30 June 2025 (UTC)" in result.output
    assert "2 donor(s); totals net of refunds and disputes: €7.50 + $75.00" in result.output
    assert "Dry run: would build 2 statement(s) (2 new, 0 changed, 0 unchanged); would send 2. Nothing was written." in result.output
    assert count(db_session, Statement) == 0
    assert count(db_session, OutboxMessage) == 0


def test_send_emails_each_donor_their_pdf_once(cli, db_session, donors, app, smtp, monkeypatch):
    monkeypatch.setitem(app.extensions, "mail", mail_from_config({**app.config, "MAIL_URL": smtp.url}))
    smtp.inbox.messages.clear()

    result = cli("statements", "build", "--year", "2025", "--send")

    assert result.exit_code == 0, result.output
    assert "Built 2 statement(s) (2 new, 0 changed, 0 unchanged); queued 2 email(s) for the worker to deliver." in result.output
    assert deliver_outbox(10) == 2  # what `membership worker` does
    for donor, total in ((donors[0], "EUR: €7.50 USD: $25.00"), (donors[1], "USD: $50.00")):
        [message] = smtp.inbox.to(donor.email)
        assert message["Subject"] == "Your giving statement for fiscal year 2025"
        assert "1 July 2024 to 30 June 2025" in message.get_body(preferencelist=("plain",)).get_content()
        [pdf] = list(message.iter_attachments())
        assert (pdf.get_content_type(), pdf.get_filename()) == ("application/pdf", "giving-statement-2025.pdf")
        text = " ".join(PdfReader(io.BytesIO(pdf.get_content())).pages[0].extract_text().split())
        assert f"Email: {donor.email}" in text and f"Total, net of refunds and disputes {total}" in text
    assert smtp.inbox.to("early@example.org") == []

    again = cli("statements", "build", "--year", "2025", "--send")

    assert "Built 2 statement(s) (0 new, 0 changed, 2 unchanged); queued 0 email(s)" in again.output
    assert deliver_outbox(10) == 0
    assert all(s.sent_at is not None for s in db_session.scalars(select(Statement)))


@pytest.mark.parametrize("year, complaint", [
    ("2031", "Fiscal year 2031 has not started yet"),
    ("1999", "The year must be a fiscal year from 2000 on"),
    ("last", "'last' is not a valid integer"),
])
def test_a_bad_year_is_refused_with_a_clear_message(cli, db_session, year, complaint):
    result = cli("statements", "build", "--year", year)
    assert result.exit_code == 2
    assert "Invalid value for '--year'" in result.output and complaint in result.output
    assert "Traceback" not in result.output


def test_help_explains_how_years_are_named(cli):
    result = cli("statements", "build", "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "named by the year it ends in" in text and "1 July 2025 to 30 June 2026" in text
    assert "--dry-run" in text and "--send" in text
