"""Giving in real Chromium: the fee box shows the grossed-up total before paying, and the gift
is paid on the checkout page and thanked for."""
from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import expect

from service.domain.giving.amounts import gross_up
from tests.browser.harness import PAYING_CARD, pay_on_checkout


def test_give_with_the_fees_covered_shows_the_total_then_pays_it(page, live):
    page.goto(live.url + "/give?campaign=browser")
    expect(page.get_by_role("heading", level=1)).to_have_text("Make a one-time gift")
    page.get_by_label("$25.00").check()
    fee_box = page.get_by_label("Cover the payment fees, so all of my gift reaches the newsroom")
    total = gross_up(2500, Decimal("2.9"), 30)
    expect(page.locator("#fee-total")).to_have_text(f"Covering them would add ${(total - 2500) / 100:.2f}.")
    fee_box.check()
    expect(page.locator("#fee-total")).to_have_text(f"Adds ${(total - 2500) / 100:.2f}: you pay ${total / 100:.2f} in total.")
    # Typing another amount selects it, and the total follows.
    page.get_by_label("Another amount, in US dollars").fill("40")
    expect(page.get_by_label("Another amount", exact=True)).to_be_checked()
    forty = gross_up(4000, Decimal("2.9"), 30)
    expect(page.locator("#fee-total")).to_contain_text(f"you pay ${forty / 100:.2f} in total")

    page.get_by_label("Your name").fill("Browser Giver")
    page.get_by_label("Email address").fill("browser-giver@example.org")
    page.get_by_role("button", name="Continue to payment").click()
    # Stripe's page asks for the grossed-up amount.
    expect(page.get_by_text(re.compile(rf"\${forty / 100:.2f}"))).to_be_visible()
    pay_on_checkout(page, PAYING_CARD)
    page.wait_for_url(re.compile(r".*/give/success\?session_id=cs_.*"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your gift!", timeout=20_000)
    expect(page.get_by_text(f"We received ${forty / 100:.2f}")).to_be_visible()
    expect(page.get_by_text("member for 8 months")).to_be_visible()
    number = page.get_by_text(re.compile(r"Your receipt, number \d{4}-\d{6}")).inner_text()
    receipt_number = re.search(r"\d{4}-\d{6}", number).group(0)
    receipt = live.wait_for_email("browser-giver@example.org", f"Your receipt {receipt_number}: thank you")
    assert f"Amount paid: ${forty / 100:.2f}" in receipt.get_body(("plain",)).get_content()


def test_a_mistake_in_the_give_form_is_shown_beside_its_field_with_focus_reachable(page, live):
    page.goto(live.url + "/give")
    page.get_by_label("Another amount", exact=True).check()
    page.get_by_label("Another amount, in US dollars").fill("0.10")
    page.get_by_label("Your name").fill("Small Giver")
    page.get_by_label("Email address").fill("small-giver@example.org")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("alert")).to_contain_text("Please fix the problem below")
    field = page.get_by_label("Another amount, in US dollars")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#other_amount-error")).to_have_text("The smallest gift we can take online is $1.")
