"""CSV export escapes spreadsheet formulas; import reports each bad row and changes nothing on a dry run."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.db import utcnow
from service.domain.insight.search import MemberFilter
from service.domain.members.csv_io import cell, export_rows, import_members
from service.models import ConsentRecord, ConsentSource, Member, MemberStatus
from tests.factories import make_member


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_like_values_are_escaped(value):
    assert cell(value) == "'" + value


def test_plain_values_are_left_alone():
    assert cell("Ada Lovelace") == "Ada Lovelace" and cell(None) == "" and cell(42) == "42"


def test_export_of_a_search_has_a_header_and_escaped_names(db_session):
    make_member(email="eve@example.org", name="=cmd|' /C calc'!A0")
    make_member(email="bob@example.org", name="Bob")
    rows = list(csv.reader(io.StringIO("".join(export_rows(MemberFilter(q="eve"), utcnow())))))
    assert rows[0][:4] == ["id", "email", "name", "status"]
    assert len(rows) == 2 and rows[1][2] == "'=cmd|' /C calc'!A0" and rows[1][4] == "no"


CSV = """email,name,stripe_customer_id,comp_until,newsletters
new@example.org,New Reader,cus_new1,,daily-headlines
comp@example.org,Comped,,{future},
not-an-email,Broken,,,
taken@example.org,Dup,,,
late@example.org,Late,,2001-01-01,
odd@example.org,Odd,,,no-such-list
"""


def _lines(db_session):
    make_member(email="taken@example.org")
    return io.StringIO(CSV.format(future=(utcnow() + timedelta(days=60)).date().isoformat()))


def test_import_creates_good_rows_and_reports_each_bad_one_by_line(db_session):
    report = import_members(_lines(db_session), utcnow())
    assert report.created == 2
    assert [line for line, _ in report.errors] == [4, 5, 6, 7]
    messages = " | ".join(m for _, m in report.errors)
    assert "not an email address" in messages and "already a member" in messages
    assert "in the past" in messages and "unknown newsletter" in messages
    comped = db_session.scalar(select(Member).where(Member.email == "comp@example.org"))
    assert comped.status is MemberStatus.COMPED
    consent = db_session.scalar(select(ConsentRecord).where(ConsentRecord.email == "new@example.org"))
    assert consent.source is ConsentSource.IMPORT


def test_a_dry_run_reports_the_same_and_creates_nothing(db_session):
    before = db_session.scalar(select(func.count()).select_from(Member))
    report = import_members(_lines(db_session), utcnow(), dry_run=True)
    assert report.created == 2 and len(report.errors) == 4
    assert db_session.scalar(select(func.count()).select_from(Member)) == before + 1  # only the fixture's


def test_the_cli_imports_with_a_report_and_exports(cli, db_session, tmp_path):
    make_member(email="taken@example.org")
    path = tmp_path / "members.csv"
    path.write_text("email,name\nfresh@example.org,Fresh\ntaken@example.org,Again\n")
    dry = cli("members", "import", str(path), "--dry-run")
    assert dry.exit_code == 1 and "line 3: taken@example.org is already a member" in dry.output
    assert "would create 1 member(s)" in dry.output
    assert db_session.scalar(select(Member).where(Member.email == "fresh@example.org")) is None
    real = cli("members", "import", str(path))
    assert "created 1 member(s)" in real.output
    exported = cli("members", "export", "--q", "fresh")
    assert exported.exit_code == 0 and "fresh@example.org,Fresh,pending,no" in exported.output
