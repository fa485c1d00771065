"""The staff console in Chromium: sign in, search, open a member, grant a comp, and see it in the
timeline and the audit log. Runs the service in a threaded werkzeug server on a temporary SQLite DB.

Set STAFF_SCREENSHOTS=DIR to save the member page and the dashboard as PNGs (README's screenshots).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from service import create_app
from service.db import utcnow
from service.domain.staff.users import create_staff_user
from service.extensions import db
from service.models import ActivityKind, MemberActivity, MemberStatus, Role
from tests.conftest import config_for_tests, migrate
from tests.factories import make_member, make_subscription

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "a long staff passphrase 42"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'staff.sqlite3'}"
    migrate(url)
    app = create_app(config_for_tests(url))
    with app.app_context():
        create_staff_user("support@newsroom.example", Role.SUPPORT, PASSWORD, name="Sam Support")
        ada = make_member(email="ada.lovelace@example.org", name="Ada Lovelace", status=MemberStatus.ACTIVE)
        make_subscription(ada)
        db.session.add(MemberActivity(member_id=ada.id, kind=ActivityKind.STATUS_CHANGED,
                                      from_status=MemberStatus.PENDING, to_status=MemberStatus.ACTIVE,
                                      stripe_event_id="evt_1QxAdaPaid", created_at=utcnow() - timedelta(days=3)))
        make_member(email="adam@example.org", name="Adam Smith", status=MemberStatus.LAPSED)
        db.session.commit()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    app.extensions["db_engine"].dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def test_sign_in_search_grant_a_comp_and_find_it_in_the_timeline_and_audit_log(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/staff/members")
    assert "/staff/login" in page.url
    page.fill("#email", "support@newsroom.example")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    assert page.url.endswith("/staff/members")

    page.fill("input[name=q]", "ada")
    page.click("button:has-text('Search')")
    rows = page.locator("table.results tbody tr")
    assert rows.count() == 2
    assert "no access" in rows.filter(has_text="adam@example.org").inner_text()
    page.click("text=ada.lovelace@example.org")
    assert "Paying member" in page.locator(".summary").inner_text()
    assert "evt_1QxAdaPaid" in page.locator("#h-timeline + table").inner_text()

    until = (utcnow() + timedelta(days=90)).date().isoformat()
    page.fill("input[name=until]", until)
    page.click("button:has-text('Grant comp')")
    assert "Complimentary membership granted" in page.locator(".flash").inner_text()
    timeline = page.locator("#h-timeline + table").inner_text()
    assert "comp granted" in timeline and "Sam Support" in timeline
    assert f"until {until}" in page.locator("section").first.inner_text()
    _screenshot(page, "member-page.png")

    page.click("text=Audit log for this member")
    audit = page.locator("table.results").inner_text()
    assert "member.comp_granted" in audit and "support@newsroom.example" in audit

    page.click("nav >> text=Dashboard")
    assert page.locator("svg[role=img] title").first.text_content() == "Members by status"
    _screenshot(page, "dashboard.png")
    page.close()


def _screenshot(page, name: str) -> None:
    folder = os.environ.get("STAFF_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)
