"""The reader's whole journey in real Chromium: join, pay, welcome, sign in, cancel, undo."""
from __future__ import annotations

import re

import requests
from playwright.sync_api import expect

from tests.browser.harness import DECLINED_CARD, PAYING_CARD, choose_plan_and_join, pay_on_checkout


def member_status(live, email: str) -> str:
    answer = requests.get(f"{live.url}/api/v1/members", params={"email": email}, headers=live.api_headers(),
                          timeout=10)
    answer.raise_for_status()
    [found] = answer.json()["data"]
    return found["status"]


def test_join_pay_and_be_welcomed_as_a_member(page, live):
    page.goto(live.url + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Keep local news free")
    expect(page.get_by_label(re.compile(r"\$5\s+a month"))).to_be_checked()
    choose_plan_and_join(page, live, "Ada Lovelace", "ada@example.org")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Subscribe to")
    pay_on_checkout(page, PAYING_CARD)
    page.wait_for_url(re.compile(r".*/join/success\?session_id=cs_.*"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, and thank you!", timeout=20_000)
    assert member_status(live, "ada@example.org") == "active"


def test_a_declined_card_shows_the_error_and_leaves_the_reader_pending(page, live):
    choose_plan_and_join(page, live, "Declined Reader", "declined@example.org")
    pay_on_checkout(page, DECLINED_CARD)
    expect(page.get_by_role("alert")).to_contain_text("declined")
    assert "/_sandbox/checkout/" in page.url
    assert member_status(live, "declined@example.org") == "pending"


def test_sign_in_by_emailed_link_then_cancel_and_undo(page, live):
    choose_plan_and_join(page, live, "Grace Hopper", "grace@example.org")
    pay_on_checkout(page, PAYING_CARD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, and thank you!", timeout=20_000)

    page.get_by_role("link", name="Sign in to your account").click()
    page.get_by_label("The email address you joined with").fill("grace@example.org")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    page.goto(live.signin_link("grace@example.org"))

    expect(page).to_have_url(live.url + "/account")
    status = page.locator(".status")
    expect(status).to_contain_text(re.compile(r"^Member, renews on \d{1,2} \w+ \d{4}$"))
    page.get_by_role("link", name="Cancel membership").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel your membership?")
    page.get_by_label("A technical problem").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Yes, cancel my membership").click()
    expect(status).to_contain_text(re.compile(r"^Member until .+ \(cancelled\)$"))
    page.get_by_role("button", name="Undo cancellation").click()
    expect(status).to_contain_text("Member, renews on")
    expect(page.get_by_role("status").first).to_contain_text("Welcome back")


def tab_to(page, element_id: str, limit: int = 30) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_joining_with_the_keyboard_only(page, live):
    page.goto(live.url + "/")
    tab_to(page, "plan-monthly-5")
    page.keyboard.press("ArrowDown")  # radio groups move with the arrow keys
    expect(page.locator("#plan-yearly-50")).to_be_checked()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    expect(page.locator("#plan-monthly-5")).to_be_checked()
    tab_to(page, "name")
    page.keyboard.type("Keyboard Reader")
    page.keyboard.press("Tab")
    page.keyboard.type("keys@example.org")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/_sandbox/checkout/cs_.*"))
    tab_to(page, "card_number")
    page.keyboard.type(PAYING_CARD)
    page.keyboard.press("Tab")
    page.keyboard.type("12 / 34")
    page.keyboard.press("Tab")
    page.keyboard.type("123")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, and thank you!", timeout=20_000)
