"""Reader pages and emails in English, French and Arabic, against the Stripe sandbox: how a page's
language is chosen, what it changes (text, <html lang dir>, amounts, typed amounts), and how the
member's language follows them into Stripe Checkout, the billing portal and their emails."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

import stripe_sandbox
from service.db import utcnow
from service.domain import emails
from service.domain.members.account import portal_url
from service.models import CheckoutAttempt
from tests.factories import make_contribution, make_member
from tests.web.readers import csrf, emails_to, join, join_and_pay, member, post_form, sign_in_as, signin_link

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


@pytest.fixture(scope="module")
def app(sandbox_app):
    return sandbox_app


def html_lang(page: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', page)
    assert match, page[:200]
    return match.group(1), match.group(2)


def checkout_of(db_session, gateway, email: str) -> dict:
    attempt = db_session.scalars(select(CheckoutAttempt).where(CheckoutAttempt.member_id == member(email).id)
                                 .order_by(CheckoutAttempt.id.desc())).first()
    return gateway.retrieve_checkout_session(attempt.stripe_checkout_session_id)


# --- choosing the language -------------------------------------------------------


def test_english_by_default_with_the_switcher_on_the_page(client):
    page = client.get("/").get_data(as_text=True)
    assert html_lang(page) == ("en", "ltr")
    nav = re.search(r'<nav class="languages" aria-label="Language">(.*?)</nav>', page, re.S).group(1)
    assert re.findall(r'href="([^"]+)" lang="(\w+)"', nav) == [("/?lang=en", "en"), ("/?lang=fr", "fr"), ("/?lang=ar", "ar")]
    assert 'hreflang="en" aria-current="true">English' in nav and ">Français<" in nav and ">العربية<" in nav


def test_the_browser_language_then_lang_then_the_cookie_it_sets(client):
    french = client.get("/", headers=FRENCH)
    assert html_lang(french.get_data(as_text=True)) == ("fr", "ltr")
    assert "Pour une information locale gratuite pour tous" in french.get_data(as_text=True)
    assert "lang=" not in french.headers.get("Set-Cookie", ""), "a browser's language is not a choice to remember"
    assert {"Accept-Language", "Cookie"} <= set(french.headers["Vary"].replace(" ", "").split(","))

    chosen = client.get("/give?lang=ar&campaign=spring", headers=FRENCH)
    assert html_lang(chosen.get_data(as_text=True)) == ("ar", "rtl")
    assert re.search(r"lang=ar;.*HttpOnly.*SameSite=Lax", chosen.headers["Set-Cookie"])
    assert 'href="/give?campaign=spring&amp;lang=fr"' in chosen.get_data(as_text=True), "the switcher keeps the page's link"
    # The choice stays for the next pages, over the browser's language, until another is chosen.
    assert html_lang(client.get("/signin", headers=FRENCH).get_data(as_text=True)) == ("ar", "rtl")
    assert html_lang(client.get("/?lang=en").get_data(as_text=True)) == ("en", "ltr")
    assert html_lang(client.get("/", headers=FRENCH).get_data(as_text=True)) == ("en", "ltr")


def test_a_language_not_offered_is_ignored(client):
    page = client.get("/?lang=de", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert html_lang(page.get_data(as_text=True)) == ("en", "ltr") and "lang=" not in page.headers.get("Set-Cookie", "")
    regional = client.get("/?lang=fr-CA")
    assert html_lang(regional.get_data(as_text=True)) == ("fr", "ltr")


def test_staff_pages_and_the_api_stay_in_english(client):
    client.get("/?lang=fr")
    login = client.get("/staff/login", headers=FRENCH).get_data(as_text=True)
    assert '<html lang="en">' in login and "Sign in" in login
    answer = client.get("/api/v1/members", headers={**FRENCH, "Accept": "application/json"})
    assert answer.status_code == 401 and answer.get_json()["error"]["message"].isascii()


def test_a_page_answered_to_a_form_post_switches_to_a_page_that_exists(client):
    problems = post_form(client, "/join", {"email": "nope", "name": "", "plan": "monthly-5"})
    page = problems.get_data(as_text=True)
    assert problems.status_code == 422 and 'href="/?lang=fr"' in page, "GET /join does not exist: the switcher leads home"
    signin = post_form(client, "/signin", {"email": "nope"}, token_from="/signin").get_data(as_text=True)
    assert 'href="/signin?lang=fr"' in signin


def test_error_pages_are_translated(client):
    page = client.get("/no-such-page?lang=fr").get_data(as_text=True)
    assert "Page introuvable" in page and "Cette adresse n’existe pas sur notre site." in page
    english = client.get("/no-such-page?lang=en").get_data(as_text=True)
    assert "The requested URL was not found on the server." in english


# --- French: text, amounts, typed amounts, Checkout, emails -------------------------------


def test_french_pages_write_amounts_the_french_way(client):
    home = client.get("/", headers=FRENCH).get_data(as_text=True)
    assert "à partir de 5\u00a0$US par mois" in home and "<span class=\"price\">50\u00a0$US</span>" in home
    give = client.get("/give", headers=FRENCH).get_data(as_text=True)
    assert "25,00\u00a0$US" in give and "2,9\u00a0% + 0,30\u00a0$US" in give


def test_joining_in_french_takes_7_50_typed_with_a_comma(client, db_session, gateway):
    client.get("/?lang=fr")
    answer = join(client, "francoise@example.org", name="Françoise", plan="monthly-pwyw", amount="7,50")
    assert answer.status_code == 303, answer.get_data(as_text=True)
    joined = member("francoise@example.org")
    assert joined.language == "fr"
    session = checkout_of(db_session, gateway, "francoise@example.org")
    assert session["locale"] == "fr"
    assert db_session.scalars(select(CheckoutAttempt.amount).where(CheckoutAttempt.member_id == joined.id)).one() == 750


def test_a_french_amount_error_is_french_and_names_the_french_minimum(client):
    client.get("/?lang=fr")
    page = join(client, "petit@example.org", plan="monthly-pwyw", amount="4,99").get_data(as_text=True)
    assert '<p class="field-error" id="amount-error">Le montant minimum est de 5\u00a0$US par mois.</p>' in page
    assert "Merci de corriger le problème ci-dessous." in page
    assert re.search(r'id="amount"[^>]*aria-invalid="true"[^>]*autofocus', page), "focus goes to the first error"


def test_a_comma_is_never_read_as_thousands_in_french(client):
    client.get("/?lang=fr")
    page = join(client, "mille@example.org", plan="monthly-pwyw", amount="1,000").get_data(as_text=True)
    assert "Saisissez un montant en dollars, par exemple 7 ou 7,50." in page


def test_a_member_joined_in_french_gets_french_emails(client, db_session, sandbox):
    client.get("/?lang=fr")
    joined = join_and_pay(client, sandbox, "marie@example.org", name="Marie Curie")
    [welcome] = [e for e in emails_to("marie@example.org") if e["kind"] == "welcome"]
    assert welcome["subject"] == "Bienvenue, et merci d’être devenu membre"
    assert "Bonjour Marie Curie," in welcome["text"] and '<html lang="fr" dir="ltr">' in welcome["html"]
    assert joined.language == "fr"


def test_a_french_receipt_writes_dates_and_amounts_the_french_way(db_session):
    someone = make_member(name="Marie Curie", language="fr")
    gift = make_contribution(someone, 4030, fee_covered=130, term_months=8, paid_at=datetime(2026, 11, 30, 9, tzinfo=UTC))
    emails.queue_receipt(someone, gift)
    [receipt] = emails_to(someone.email)
    assert receipt["subject"] == f"Votre reçu {gift.receipt_number}\u00a0: merci"
    text = receipt["text"]
    assert f"REÇU {gift.receipt_number}" in text and "Date du paiement\u00a0: 30 novembre 2026" in text
    assert "Montant payé\u00a0: 40,30\u00a0$US" in text and "dont 1,30\u00a0$US couvrent les frais de paiement" in text
    assert "Votre don comprend 8 mois d’adhésion." in text and "Merci, Marie Curie." in text


def test_arabic_plurals_follow_the_number(db_session):
    someone = make_member(language="ar")
    for months, words in ((1, "شهرًا واحدًا"), (2, "شهرين"), (3, "3 أشهر"), (11, "11 شهرًا")):
        emails.queue_receipt(someone, make_contribution(someone, 500 * months, term_months=months))
        assert words in emails_to(someone.email)[-1]["text"], months


def test_an_existing_members_language_is_not_changed_by_a_form(client, db_session):
    someone = make_member(email="anglais@example.org", language=None)
    db_session.commit()
    client.get("/?lang=ar")
    post_form(client, "/signin", {"email": "anglais@example.org"}, token_from="/signin")
    assert someone.language is None, "anyone can type anyone's address"
    [sent] = [e for e in emails_to("anglais@example.org") if e["kind"] == "signin"]
    assert sent["subject"] == "Your sign-in link", "the member's emails stay in their own language"


def test_signing_in_having_chosen_a_language_makes_it_the_members(client, db_session):
    someone = make_member(email="choisit@example.org", language=None)
    db_session.commit()
    post_form(client, "/signin", {"email": "choisit@example.org"}, token_from="/signin")
    client.get("/?lang=fr")
    assert client.get(signin_link("choisit@example.org")).status_code == 303
    assert someone.language == "fr"


def test_signing_in_with_only_a_browser_language_changes_nothing(client, db_session):
    someone = make_member(email="garde@example.org", language="ar")
    db_session.commit()
    post_form(client, "/signin", {"email": "garde@example.org"}, token_from="/signin")
    assert client.get(signin_link("garde@example.org"), headers=FRENCH).status_code == 303
    assert someone.language == "ar"


# --- Arabic: right to left, Checkout "auto", emails -------------------------------------


def test_arabic_pages_read_right_to_left(client):
    page = client.get("/?lang=ar").get_data(as_text=True)
    assert html_lang(page) == ("ar", "rtl") and "لتبقى الأخبار المحلية مجانية للجميع" in page


def test_joining_in_arabic_asks_stripe_for_the_browsers_language(client, db_session, gateway):
    """Stripe Checkout has no Arabic: the session asks for "auto" (the reader's browser decides)."""
    client.get("/?lang=ar")
    assert join(client, "layla@example.org", name="Layla").status_code == 303
    assert member("layla@example.org").language == "ar"
    assert checkout_of(db_session, gateway, "layla@example.org")["locale"] == "auto"


def test_switching_language_opens_a_new_checkout_in_it(client, db_session, gateway):
    client.get("/?lang=en")
    first = join(client, "switch@example.org").location
    assert join(client, "switch@example.org").location == first, "a double submit reuses the session"
    client.get("/?lang=fr")
    again = join(client, "switch@example.org").location
    assert again != first and checkout_of(db_session, gateway, "switch@example.org")["locale"] == "fr"


def test_an_arabic_members_emails_are_arabic_and_right_to_left(db_session):
    someone = make_member(name="ليلى", language="ar")
    emails.queue_membership_ended(someone, utcnow())
    [sent] = emails_to(someone.email)
    assert sent["subject"] == "انتهت عضويتك" and "مرحبًا ليلى،" in sent["text"]
    assert '<html lang="ar" dir="rtl">' in sent["html"]


def test_an_english_members_email_is_english_whatever_the_page(client, db_session):
    make_member(email="english@example.org", language=None)
    db_session.commit()
    client.get("/?lang=fr")
    post_form(client, "/signin", {"email": "english@example.org"}, token_from="/signin")
    [sent] = [e for e in emails_to("english@example.org") if e["kind"] == "signin"]
    assert sent["subject"] == "Your sign-in link" and "Hello" in sent["text"] and '<html lang="en" dir="ltr">' in sent["html"]


def test_the_billing_portal_is_shown_in_the_members_language_or_the_pages(client, db_session, sandbox, gateway):
    client.get("/?lang=fr")
    joined = join_and_pay(client, sandbox, "portail@example.org")
    store = stripe_sandbox.sandbox_of(sandbox.app).store

    def locale_of(url: str) -> str:
        return store.get(url.rsplit("/", 1)[1], "billing_portal.session")["locale"]

    assert locale_of(portal_url(joined, gateway, "http://localhost/account", utcnow())) == "fr"
    assert locale_of(portal_url(joined, gateway, "http://localhost/account", utcnow(), language="ar")) == "auto"
    # A signed-in member who joins again is sent to the portal, in the page's language.
    sign_in_as(client, joined)
    client.get("/?lang=en")
    assert locale_of(join(client, "portail@example.org").location) == "en"


def test_the_newsletter_confirmation_is_in_the_language_of_the_page_that_asked(client, db_session):
    client.get("/newsletters/subscribe?lang=fr")
    answer = client.post("/newsletters/subscribe", data={"csrf_token": csrf(client, "/newsletters/subscribe"),
                                                         "email": "titres@example.org", "list": "daily-headlines"})
    assert "Consultez votre boîte de réception" in answer.get_data(as_text=True)
    [sent] = emails_to("titres@example.org")
    assert sent["subject"] == "Merci de confirmer votre inscription à Les titres du jour"
