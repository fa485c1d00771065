"""The cancel flow in real Chromium: a reason (refused without one, the message beside the field),
the offers, a pause taken; then, later, a decline that cancels at the period end. Every step passes axe."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.harness import PAYING_CARD, accessibility_problems, choose_plan_and_join, pay_on_checkout, sign_in_by_email


def test_a_reason_then_a_pause_then_a_decline(page, live):
    choose_plan_and_join(page, live, "Rosalind Franklin", "rosalind@example.org")
    pay_on_checkout(page, PAYING_CARD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, and thank you!", timeout=20_000)
    sign_in_by_email(page, live, "rosalind@example.org")
    expect(page).to_have_url(live.url + "/account")

    page.get_by_role("link", name="Cancel membership").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel your membership?")
    assert accessibility_problems(page) == []
    page.get_by_role("button", name="Continue").click()  # no reason chosen
    expect(page.locator("#reason-error")).to_have_text("Choose a reason.")
    expect(page.get_by_role("alert")).to_contain_text("Please fix the problem below.")
    assert accessibility_problems(page) == []

    page.get_by_label("It costs too much").check()
    page.get_by_label(re.compile("Anything you'd like to tell us")).fill("Money is tight this winter")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Would one of these help?")).to_be_visible()
    expect(page.get_by_text(re.compile(r"\$10 less than twelve monthly payments"))).to_be_visible()
    assert accessibility_problems(page) == []
    page.get_by_label("3 months").check()
    page.get_by_role("button", name="Pause my payments").click()

    expect(page).to_have_url(live.url + "/account")
    expect(page.get_by_role("status").first).to_contain_text(
        re.compile(r"paused for 3 months and your membership stays active; your next payment is \$5\.00 on \d{1,2} \w+ \d{4}"))
    expect(page.locator(".status")).to_contain_text("Member; payments paused until")

    # Changed their mind after all: the flow again, no offer this time.
    page.get_by_role("link", name="Cancel membership").click()
    page.get_by_label("Something else").check()
    page.get_by_label(re.compile("Anything you'd like to tell us")).fill("Moving abroad")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Pause my payments")).to_have_count(0)  # already paused
    page.get_by_role("button", name="Yes, cancel my membership").click()
    expect(page.locator(".status")).to_contain_text(re.compile(r"^Member until .+ \(cancelled\)$"))
