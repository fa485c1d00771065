"""axe-core in real Chromium on every reader page, in English, French and Arabic, and on the staff
console (English): no serious or critical violation. Each page is checked in the state a reader
meets it: blank, with a mistake shown, after each step of joining, giving, signing in and the
newsletter's double opt-in.

Set A11Y_REPORT=FILE to write every violation found (whatever its impact) as JSON lines.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.harness import BLOCKING, PAYING_CARD, LiveService, pay_on_checkout

LANGUAGES = ("en", "fr", "ar")
STAFF_PASSWORD = "a long staff passphrase 42"


def _scan(page: Any, where: str, found: dict[str, list[str]]) -> None:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    report = os.environ.get("A11Y_REPORT")
    if report:
        with open(report, "a") as out:
            for v in violations:
                out.write(json.dumps({"page": where, "rule": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])}) + "\n")
    found[where] = [f"{v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes']][:3]}"
                    for v in violations if v["impact"] in BLOCKING]


def _submit(page: Any) -> None:
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()


def _newest_link(live: LiveService, to: str, path: str) -> str:
    """The newest link to `path` in the emails to an address (delivering what is queued first)."""
    live.deliver_outbox()
    for message in reversed(live.smtp.inbox.to(to)):
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                match = re.search(rf"(http://\S+{re.escape(path)}\S+)", part.get_content())
                if match:
                    return match.group(1)
    raise AssertionError(f"no link to {path} emailed to {to}")


def _pay_and_wait(page: Any) -> None:
    page.wait_for_url(re.compile(r".*/_sandbox/checkout/cs_.*"))
    pay_on_checkout(page, PAYING_CARD)
    page.wait_for_url(re.compile(r".*/(join|give)/success\?session_id=cs_.*"))
    expect(page.locator("[data-pending]")).to_have_count(0, timeout=20_000)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_reader_page_passes_axe(page, live, lang):
    found: dict[str, list[str]] = {}
    reader = f"a11y-{lang}@example.org"
    page.goto(f"{live.url}/?lang={lang}")  # the choice is kept in a cookie for every page after
    expect(page.locator("html")).to_have_attribute("lang", lang)
    _scan(page, "home", found)
    _submit(page)
    _scan(page, "home, with mistakes", found)

    page.goto(live.url + "/give")
    _scan(page, "give", found)
    page.locator("#other_amount").fill("0.10")
    _submit(page)
    _scan(page, "give, with mistakes", found)

    page.goto(live.url + "/gift?currency=chf")
    _scan(page, "gift", found)
    page.locator("#deliver_on").fill("2001-01-01")
    _submit(page)
    _scan(page, "gift, with mistakes", found)

    for path in ("/join/cancelled", "/join/success?session_id=cs_unknown", "/give/success?session_id=cs_unknown",
                 "/gift/success?session_id=cs_unknown", "/gift/redeem/not-a-token", "/no-such-page"):
        page.goto(live.url + path)
        _scan(page, path, found)

    # Joining and paying: the welcome page. Giving and paying: the thank-you page.
    page.goto(live.url + "/")
    page.locator("#name").fill("Axe Reader")
    page.locator("#email").fill(reader)
    _submit(page)
    _pay_and_wait(page)
    _scan(page, "join/success, welcomed", found)
    page.goto(live.url + "/give")
    page.locator("#amount-2500").check()
    page.locator("#name").fill("Axe Reader")
    page.locator("#email").fill(reader)
    _submit(page)
    _pay_and_wait(page)
    _scan(page, "give/success, thanked", found)

    # Signing in: the form, its mistake, "check your inbox", a wrong code, then the account page.
    page.goto(live.url + "/signin")
    _scan(page, "signin", found)
    _submit(page)
    _scan(page, "signin, with a mistake", found)
    page.locator("#email").fill(reader)
    _submit(page)
    _scan(page, "signin, check your inbox", found)
    page.locator("#code").fill("00000000")
    _submit(page)
    _scan(page, "signin, a wrong code", found)
    page.goto(_newest_link(live, reader, "/signin/link/"))
    expect(page).to_have_url(live.url + "/account")
    _scan(page, "account", found)

    # The free newsletter's double opt-in, and unsubscribing.
    subscriber = f"headlines-{lang}@example.org"
    page.goto(live.url + "/newsletters/subscribe")
    _scan(page, "newsletter subscribe", found)
    _submit(page)
    _scan(page, "newsletter subscribe, with a mistake", found)
    page.locator("#email").fill(subscriber)
    _submit(page)
    _scan(page, "newsletter, check your inbox", found)
    page.goto(_newest_link(live, subscriber, "/newsletters/confirm/"))
    _scan(page, "newsletter confirm", found)
    _submit(page)
    _scan(page, "newsletter confirmed", found)
    with live.app.app_context():  # left before the page is asked for: SQLite has one writer at a time
        from service.domain.newsletter.links import unsubscribe_url

        unsubscribe = unsubscribe_url(subscriber, "daily-headlines")
    page.goto(unsubscribe)
    _scan(page, "newsletter unsubscribe", found)
    _submit(page)
    _scan(page, "newsletter unsubscribed", found)

    problems = {where: issues for where, issues in found.items() if issues}
    assert problems == {}, f"{lang}: {json.dumps(problems, ensure_ascii=False, indent=1)}"
    assert len(found) == 26, "every page above was checked"


def test_axe_finds_what_it_should(page, live):
    """The check is live: a field without a label on one of our pages is reported as critical."""
    page.goto(live.url + "/")
    page.evaluate("document.querySelector('label[for=name]').remove()")
    found: dict[str, list[str]] = {}
    _scan(page, "home without a label", found)
    assert any(problem.startswith("label (critical)") for problem in found["home without a label"])


def test_the_staff_console_passes_axe(page, live):
    from service.domain.staff.users import create_staff_user
    from service.extensions import db
    from service.models import Role

    with live.app.app_context():
        create_staff_user("axe@newsroom.example", Role.ADMIN, STAFF_PASSWORD, name="Axe Admin")
        db.session.commit()
    found: dict[str, list[str]] = {}
    page.goto(live.url + "/staff/login?lang=fr")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # staff pages stay in English
    _scan(page, "staff login", found)
    page.fill("#email", "axe@newsroom.example")
    page.fill("#password", STAFF_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r".*/staff/.*"))
    page.goto(live.url + "/staff/dashboard")
    expect(page.locator("svg[role=img]").first).to_be_visible()
    _scan(page, "staff dashboard", found)
    assert {where: issues for where, issues in found.items() if issues} == {}
