"""The account area and the giving statement in French and Arabic: status lines, dates and amounts
as each language writes them, the page right to left in Arabic, and the statement's email and PDF
in the member's own language whatever page or job made them."""
from __future__ import annotations

import base64
import html
import io
import re
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from service.db import utcnow
from service.domain.giving import statements
from service.domain.members.status import refresh_status
from service.models import SubscriptionStatus
from tests.factories import make_contribution, make_member, make_subscription
from tests.web.readers import emails_to, post_form, sign_in_as

FRENCH_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
                 "novembre", "décembre")
ARABIC_MONTHS = ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر", "نوفمبر",
                 "ديسمبر")
NOW = datetime(2026, 9, 1, 12, tzinfo=UTC)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def french(day: datetime) -> str:
    return f"{day.day} {FRENCH_MONTHS[day.month - 1]} {day.year}"


def arabic(day: datetime) -> str:
    return f"{day.day} {ARABIC_MONTHS[day.month - 1]} {day.year}"


def visible_text(response) -> str:
    """What a reader reads, tags removed and whitespace collapsed (no-break spaces kept)."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    return re.sub(r"[ \t\r\n]+", " ", text)


def pdf_text(data: bytes) -> str:
    """The PDF's text as copy-paste gives it, whitespace collapsed (Arabic presentation forms read back as letters)."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(unicodedata.normalize("NFKC", text).split())


@pytest.fixture
def member_with_giving(app, client, db_session, monkeypatch):
    """A signed-in paying member (renewing in 40 days) who gave in fiscal 2026 (years from 1 July)."""
    monkeypatch.setitem(app.config, "FISCAL_YEAR_START_MONTH", 7)

    def make(language: str):
        someone = make_member(name="Camille", language=language)
        renews = utcnow().replace(microsecond=0) + timedelta(days=40)
        make_subscription(someone, SubscriptionStatus.ACTIVE, period_end=renews)
        make_contribution(someone, 1000, "eur", paid_at=at(2025, 7, 1), refunded_amount=300)
        refresh_status(someone, utcnow())
        db_session.commit()
        sign_in_as(client, someone)
        return someone, renews

    return make


def test_the_account_page_in_french(client, member_with_giving):
    _member, renews = member_with_giving("fr")

    page = client.get("/account?lang=fr")
    text = visible_text(page)

    assert '<html lang="fr" dir="ltr">' in page.get_data(as_text=True)
    assert f"Membre, renouvellement le {french(renews)}" in text
    assert "Monthly\u00a0: 5\u00a0$US par mois" in text
    assert "1 juillet 2025 Don ponctuel 10,00\u00a0€ 3,00\u00a0€" in text
    assert "Relevé de l’exercice 2026 (PDF) du 1 juillet 2025 au 30 juin 2026" in text
    assert "Résilier l’adhésion" in text and "Lettre quotidienne des membres" in text and "Vous la recevez." in text
    for english in ("Member, renews", "Manage billing", "Giving", "Newsletters", "Signed in as", "July"):
        assert english not in text


def test_the_account_page_in_arabic_reads_right_to_left(client, db_session, member_with_giving):
    someone, renews = member_with_giving("ar")

    page = client.get("/account?lang=ar")
    text = visible_text(page)

    assert '<html lang="ar" dir="rtl">' in page.get_data(as_text=True)
    assert f"عضو، تتجدّد العضوية في {arabic(renews)}" in text
    assert "1 يوليو 2025 تبرّع لمرة واحدة" in text
    assert "كشف السنة المالية 2026 (PDF) من 1 يوليو 2025 إلى 30 يونيو 2026" in text
    for english in ("Member, renews", "Manage billing", "Giving", "July"):
        assert english not in text

    someone.subscriptions[0].cancel_at_period_end = True
    db_session.commit()
    assert f"عضو حتى {arabic(renews)} (أُلغيت العضوية)" in visible_text(client.get("/account"))


def test_the_cancel_page_in_french_says_what_stops_and_when(client, member_with_giving):
    _member, renews = member_with_giving("fr")

    text = visible_text(client.get("/account/cancel?lang=fr"))

    assert "Résilier votre adhésion\u00a0?" in text
    assert f"Votre adhésion reste active jusqu’au {french(renews)}" in text
    confirm = visible_text(post_form(client, "/account/cancel/reason?lang=fr", {"reason": "coverage"},
                                     token_from="/account/cancel?lang=fr"))
    assert f"5\u00a0$US par mois\u00a0: pas de renouvellement le {french(renews)}." in confirm
    assert "Oui, résilier mon adhésion" in confirm


def test_a_french_members_statement_email_and_pdf_are_in_french(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "FISCAL_YEAR_START_MONTH", 7)
    monkeypatch.setitem(app.config, "RECEIPT_ORG_NAME", "Harbour News Foundation")
    monkeypatch.setitem(app.config, "RECEIPT_TAX_ID", "EIN 12-3456789")
    someone = make_member(name="Marie Curie", email="marie@example.org", language="fr")
    euros = make_contribution(someone, 1000, "eur", paid_at=at(2025, 12, 15), refunded_amount=400)
    dollars = make_contribution(someone, 2500, paid_at=at(2026, 3, 1))

    assert statements.build(someone.id, statements.fiscal_year(2026), NOW, send=True).sent

    [email] = emails_to("marie@example.org")
    assert email["subject"] == "Votre relevé de dons pour l’exercice 2026"
    assert '<html lang="fr" dir="ltr">' in email["html"]
    body = email["text"]
    assert "RELEVÉ DE DONS, EXERCICE 2026" in body and "Numéro d’identification fiscale\u00a0: EIN 12-3456789" in body
    assert "Bonjour Marie Curie," in body
    assert ("pour l’exercice 2026 (du 1 juillet 2025 au 30 juin 2026)\u00a0: chacune de vos 2 contributions de cet "
            "exercice") in body
    assert "des paiements contestés\u00a0: 6,00\u00a0€ + 25,00\u00a0$US" in body
    [attached] = email["attachments"]
    assert attached["filename"] == "giving-statement-2026.pdf"

    text = pdf_text(base64.b64decode(attached["data"]))
    assert "Relevé de dons, exercice 2026" in text and "Numéro d’identification fiscale : EIN 12-3456789" in text
    assert "Contributions versées du 1 juillet 2025 au 30 juin 2026 (UTC)" in text
    assert "Donateur : Marie Curie" in text and "Adresse e-mail : marie@example.org" in text
    assert "Date Reçu Type Montant Remboursé Contesté Net" in text
    assert f"15/12/2025 {euros.receipt_number} Don ponctuel 10,00 € 4,00 € - 6,00 €" in text
    assert f"01/03/2026 {dollars.receipt_number} Don ponctuel 25,00 $US - - 25,00 $US" in text
    assert "Total, déduction faite des remboursements et des contestations EUR : 6,00 € USD : 25,00 $US" in text
    assert "Merci de soutenir notre journalisme." in text
    assert "Giving statement" not in text and "Donor" not in text


def test_the_pdf_follows_the_member_not_the_page(client, db_session, member_with_giving):
    """A French member downloading from an English page still gets their statement in French."""
    member_with_giving("fr")

    answer = client.get("/account/statements/2026.pdf?lang=en")

    assert answer.status_code == 200
    assert "Relevé de dons, exercice 2026" in pdf_text(answer.data)


def test_an_arabic_members_pdf_prints_arabic_labels_in_reading_order(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "FISCAL_YEAR_START_MONTH", 7)
    someone = make_member(name="ليلى", email="layla@example.org", language="ar")
    make_contribution(someone, 2500, paid_at=at(2025, 9, 1))

    text = pdf_text(statements.pdf_for(someone.id, 2026, NOW))

    assert "المتبرّع: ليلى" in text and "شكرًا لدعمك صحافتنا" in text
    assert "Donor" not in text and "Thank you" not in text


def test_flash_messages_are_in_the_pages_language(client, member_with_giving):
    member_with_giving("ar")
    client.get("/account?lang=fr")

    answer = post_form(client, "/account/newsletters", {"list": "daily-headlines", "action": "subscribe"}, token_from="/account")

    assert answer.status_code == 303
    assert "Votre choix de lettres d’information est enregistré." in visible_text(client.get("/account"))
