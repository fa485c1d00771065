"""A gift membership in real Chromium, in euros: the currency choice, the form, Checkout, the
confirmation, then the recipient's email link, its button, and the membership it starts."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.harness import PAYING_CARD, pay_on_checkout


def test_a_gift_membership_bought_in_euros_is_delivered_and_redeemed(page, live):
    page.goto(live.url + "/gift")
    expect(page.get_by_role("heading", level=1)).to_have_text("Give a membership")
    expect(page.get_by_text("$50.00")).to_be_visible()  # an English browser: dollars first
    page.get_by_role("navigation", name="Currency").get_by_role("link", name="EUR").click()
    expect(page.get_by_text("Amounts in euros.")).to_be_visible()
    expect(page.get_by_label("€30.00 6 months")).to_be_visible()
    page.get_by_label("€30.00 6 months").check()
    page.get_by_label("Their name").fill("Amélie Recipient")
    page.get_by_label("Their email address").fill("amelie@example.org")
    page.get_by_label("Your message (optional)").fill("Pour tes trajets du matin.")
    page.get_by_label("Your name").fill("Jean Giver")
    page.get_by_label("Your email address").fill("jean@example.org")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_text(re.compile(r"€30\.00"))).to_be_visible()
    pay_on_checkout(page, PAYING_CARD)
    page.wait_for_url(re.compile(r".*/gift/success\?session_id=cs_.*"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your gift!", timeout=20_000)
    expect(page.get_by_text("We have emailed it to amelie@example.org just now.")).to_be_visible()

    email = live.wait_for_email("amelie@example.org", "Jean Giver has given you a membership of The Newsroom")
    link = re.search(r"(http://\S+/gift/redeem/\S+)", email.get_body(("plain",)).get_content()).group(1)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("A gift from Jean Giver")
    expect(page.get_by_text("Pour tes trajets du matin.")).to_be_visible()
    page.get_by_role("button", name="Start my membership").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, member!")
    expect(page.get_by_text(re.compile(r"Thanks to Jean Giver, you are a member until"))).to_be_visible()
    page.get_by_role("link", name="See your membership").click()
    expect(page).to_have_url(re.compile(r".*/account$"))
