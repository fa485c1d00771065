"""Joining in French and in Arabic in real Chromium: the pages in the reader's language (Arabic
right to left), an amount typed the French way, Stripe Checkout asked for the same language, and
the welcome email in it; a mistake moves the focus to its field."""
from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from service.domain.giving.amounts import gross_up
from tests.browser.harness import PAYING_CARD, accessibility_problems, pay_on_checkout
from tests.smtp import body_html, body_text

CHECKOUT = re.compile(r".*/_sandbox/checkout/cs_.*")


def test_joining_in_french_with_an_amount_typed_the_french_way(browse, live):
    page = browse(locale="fr-FR")  # Chromium then sends Accept-Language: fr-FR,fr
    page.goto(live.url + "/")  # a browser in France sees euros, when CURRENCIES offers them (the live service's do)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pour une information locale gratuite pour tous")
    assert accessibility_problems(page) == []
    page.get_by_role("radio", name=re.compile("Montant libre")).check()
    page.get_by_label("Votre montant mensuel, en euros").fill("7,50")
    page.get_by_label("Votre nom").fill("Françoise Dupont")
    page.get_by_label("Adresse e-mail").fill("francoise@example.org")
    page.get_by_role("button", name="Continuer vers le paiement").click()
    page.wait_for_url(CHECKOUT)

    session = live.checkout_session(page.url)
    assert session["locale"] == "fr" and session["amount_total"] == 750 and session["currency"] == "eur"
    pay_on_checkout(page, PAYING_CARD)
    page.wait_for_url(re.compile(r".*/join/success\?session_id=cs_.*"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Bienvenue, et merci\u00a0!", timeout=20_000)
    assert accessibility_problems(page) == []

    welcome = live.wait_for_email("francoise@example.org", "Bienvenue, et merci d’être devenu membre")
    assert "Bonjour Françoise Dupont," in body_text(welcome)
    assert '<html lang="fr" dir="ltr">' in body_html(welcome)


def test_joining_in_arabic_right_to_left(browse, live):
    page = browse()
    page.goto(live.url + "/?lang=ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_have_text("لتبقى الأخبار المحلية مجانية للجميع")
    # The layout mirrors: a plan's radio button sits at the right of its label, the language links
    # run from the right.
    radio, label = page.locator("#plan-monthly-5").bounding_box(), page.locator("label[for=plan-monthly-5]").bounding_box()
    assert radio["x"] > label["x"] + label["width"] / 2
    assert accessibility_problems(page) == []
    page.get_by_label("اسمك").fill("ليلى حسن")
    page.get_by_label("البريد الإلكتروني").fill("layla@example.org")
    page.get_by_role("button", name="المتابعة إلى الدفع").click()
    page.wait_for_url(CHECKOUT)

    # Stripe Checkout shows no Arabic: the session asks for "auto", the reader's browser language.
    assert live.checkout_session(page.url)["locale"] == "auto"
    pay_on_checkout(page, PAYING_CARD)
    page.wait_for_url(re.compile(r".*/join/success\?session_id=cs_.*"))
    expect(page.get_by_role("heading", level=1)).to_have_text("أهلًا بك، وشكرًا لك!", timeout=20_000)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")  # the choice was kept, in a cookie

    welcome = live.wait_for_email("layla@example.org", "أهلًا بك، وشكرًا لانضمامك إلينا عضوًا")
    assert "مرحبًا ليلى حسن،" in body_text(welcome)
    assert '<html lang="ar" dir="rtl">' in body_html(welcome)


def test_the_switcher_changes_the_language_and_keeps_it(page, live):
    page.goto(live.url + "/give?campaign=spring")
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Français").click()
    expect(page).to_have_url(live.url + "/give?campaign=spring&lang=fr")
    expect(page.get_by_role("heading", level=1)).to_have_text("Faire un don ponctuel")
    page.get_by_role("link", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Se connecter")
    expect(page.get_by_role("navigation", name="Langue").get_by_role("link", name="Français")).to_have_attribute(
        "aria-current", "true")


def test_a_failed_submit_moves_the_focus_to_the_first_mistake(browse, live):
    page = browse(locale="fr-FR")
    page.goto(live.url + "/")
    page.get_by_label("Adresse e-mail").fill("pas-une-adresse")
    page.get_by_role("button", name="Continuer vers le paiement").click()
    expect(page.get_by_role("alert")).to_have_text("Merci de corriger les problèmes ci-dessous.")
    expect(page.locator("#name")).to_be_focused()
    expect(page.locator("#name")).to_have_attribute("aria-describedby", "name-error")
    expect(page.locator("#name-error")).to_have_text("Saisissez votre nom (200 caractères au plus).")
    expect(page.locator("#email-error")).to_have_text("Saisissez une adresse e-mail comme nom@exemple.org.")
    assert accessibility_problems(page) == []


def test_the_gift_total_is_written_the_pages_way(browse, live):
    page = browse()
    page.goto(live.url + "/give?lang=fr")
    page.get_by_label("Un autre montant, en dollars américains").fill("12,50")
    expect(page.get_by_label("Un autre montant", exact=True)).to_be_checked()
    total = gross_up(1250, Decimal("2.9"), 30)
    fee, paid = f"0,{total - 1250}", f"{total // 100},{total % 100:02d}"
    expect(page.locator("#fee-total")).to_have_text(re.compile(rf"^Les prendre en charge ajouterait {fee}\s\$US\.$"))
    page.get_by_label("Prendre en charge les frais de paiement, pour que tout mon don parvienne à la rédaction").check()
    expect(page.locator("#fee-total")).to_have_text(re.compile(rf"^Ajoute {fee}\s\$US\s: vous payez {paid}\s\$US au total\.$"))
