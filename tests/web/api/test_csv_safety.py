"""Every CSV export escapes cells a spreadsheet would run as a formula.

The risk: the newsletter subscriber export (API and `membership newsletters
export`) wrote its own CSV without the escaping the member export had. Anyone
can sign up to the free list with an address like `=HYPERLINK(...)@x.org` or
`-2+3@x.org` (legal local parts), and staff opening the export in a
spreadsheet would run it (OWASP "CSV injection"). One writer now serves every
export, so none can forget.
"""
from __future__ import annotations

import csv
import io

import pytest

from service.domain import csv_out
from service.domain.newsletter import subscriptions as nl
from service.models import ConsentSource

HOSTILE = ["=1+2@example.org", "+1-1@example.org", "-2+3@example.org", "@sum@example.org"]


@pytest.fixture
def hostile_readers(db_session):
    for email in HOSTILE:
        nl.resubscribe(email, "daily-headlines", ConsentSource.IMPORT)
    db_session.commit()
    return HOSTILE


def test_api_export_escapes_formula_like_addresses(client, api_token, hostile_readers):
    answer = client.get("/api/v1/newsletters/daily-headlines/subscribers.csv", headers=api_token())
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [r["email"] for r in rows] == ["'" + e for e in hostile_readers]


def test_cli_export_escapes_formula_like_addresses(cli, hostile_readers):
    result = cli("newsletters", "export", "daily-headlines")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    assert [r[0] for r in rows[1:]] == ["'" + e for e in hostile_readers]


def test_one_writer_serves_every_export():
    assert csv_out.line(["=x", "\tx", "\rx", "plain", None, 3]) == "'=x,'\tx,\"'\rx\",plain,,3\r\n"
    assert list(csv_out.lines(["a"], [["@b"]])) == ["a\r\n", "'@b\r\n"]
