"""The dashboard's retention heat map and movements in Chromium, on a year of seeded history.

Set STAFF_SCREENSHOTS=DIR to save the retention section as retention.png (the README's screenshot).
"""
from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from service import create_app
from service.db import utcnow
from service.domain.members.terms import add_months
from service.domain.staff.users import create_staff_user
from service.extensions import db
from service.models import ActivityKind, MemberActivity, MemberStatus, Role
from tests.conftest import config_for_tests, migrate
from tests.factories import make_member

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "a long staff passphrase 42"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium at /usr/bin/chromium")
JOINS_PER_MONTH = 12


def _seed_history() -> None:
    """Twelve joins a month for fourteen months; each member stays a number of months drawn from a
    fixed seed (so the picture is the same every run), then lapses (cancelled) or stays."""
    rng, now = random.Random(7), utcnow()
    this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for months_ago in range(14, 0, -1):
        for n in range(JOINS_PER_MONTH):
            joined = add_months(this_month, -months_ago) + timedelta(days=2, hours=n)
            stays = rng.choice([1, 2, 3, 5, 8, 13, 20, 20, 20])
            lapsed = joined + timedelta(days=30 * stays + 3)
            status = MemberStatus.LAPSED if lapsed < now else MemberStatus.ACTIVE
            member = make_member(email=f"cohort{months_ago}-{n}@example.org", status=status)
            db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.STATUS_CHANGED, created_at=joined,
                                          from_status=MemberStatus.PENDING, to_status=MemberStatus.ACTIVE))
            if status is MemberStatus.LAPSED:
                db.session.add(MemberActivity(member_id=member.id, kind=ActivityKind.STATUS_CHANGED, created_at=lapsed,
                                              from_status=MemberStatus.ACTIVE, to_status=MemberStatus.LAPSED,
                                              detail="subscription canceled"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('insight') / 'insight.sqlite3'}"
    migrate(url)
    app = create_app(config_for_tests(url))
    with app.app_context():
        create_staff_user("viewer@newsroom.example", Role.VIEWER, PASSWORD, name="Vic Viewer")
        _seed_history()
        db.session.commit()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    app.extensions["db_engine"].dispose()


def test_the_retention_heat_map_shows_each_cohort_with_its_numbers_beside_it(server, page):
    page.goto(server + "/staff/login")
    page.get_by_label("Email").fill("viewer@newsroom.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(server + "/staff/dashboard")
    section = page.locator("section[aria-labelledby=h-ret]")
    heat = section.locator("svg[role=img]")
    assert heat.count() == 1
    title = heat.locator("title").first.text_content() or ""
    assert title == "Members still members k months after joining, by join month"
    # Every complete month-1 cell of a cohort of twelve is drawn with its share written in it.
    cells = heat.locator("text").all_text_contents()
    assert any(c.endswith("%") for c in cells)
    section.locator("summary").click()
    rows = section.locator("table.figures tbody tr")
    assert rows.count() >= 12
    assert rows.first.inner_text().split("\t")[1] == str(JOINS_PER_MONTH)  # each cohort's size
    folder = os.environ.get("STAFF_SCREENSHOTS")
    if folder:
        section.screenshot(path=str(Path(folder) / "retention.png"))
