"""`membership contributions export`: the accountant's CSV, for a period, to standard output or a file."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from service.domain.insight.contributions import EXPORT_COLUMNS
from service.models import ContributionKind
from tests.factories import make_contribution, make_member


@pytest.fixture
def year(db_session):
    """Contributions at the edges of March 2026."""
    donor = make_member(email="donor@example.org", name="Dora Donor")
    rows = {
        "feb": make_contribution(donor, 500, paid_at=datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)),
        "mar1": make_contribution(donor, 2625, paid_at=datetime(2026, 3, 1, tzinfo=UTC), fee_covered=125,
                                  kind=ContributionKind.ONE_TIME, campaign="spring", anonymous=True,
                                  stripe_payment_intent_id="pi_mar1", stripe_charge_id="ch_mar1"),
        "mar31": make_contribution(donor, 1000, "eur", paid_at=datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC),
                                   kind=ContributionKind.MEMBERSHIP, refunded_amount=400, stripe_invoice_id="in_mar31"),
        "apr": make_contribution(donor, 700, paid_at=datetime(2026, 4, 1, tzinfo=UTC)),
    }
    db_session.commit()
    return rows


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_a_period_both_days_included(cli, year):
    result = cli("contributions", "export", "--since", "2026-03-01", "--until", "2026-03-31")
    assert result.exit_code == 0, result.output
    rows = parse(result.stdout)
    assert list(rows[0]) == EXPORT_COLUMNS
    assert [r["receipt_number"] for r in rows] == [year["mar31"].receipt_number, year["mar1"].receipt_number]
    gift, dues = rows[1], rows[0]
    assert {k: gift[k] for k in ("paid_at", "email", "name", "anonymous", "kind", "currency", "amount", "fee_covered",
                                 "net", "campaign", "stripe_payment_intent_id", "stripe_charge_id")} == {
        "paid_at": "2026-03-01T00:00:00+00:00", "email": "donor@example.org", "name": "Dora Donor", "anonymous": "yes",
        "kind": "one_time", "currency": "usd", "amount": "26.25", "fee_covered": "1.25", "net": "26.25",
        "campaign": "spring", "stripe_payment_intent_id": "pi_mar1", "stripe_charge_id": "ch_mar1"}
    assert (dues["currency"], dues["amount"], dues["refunded"], dues["net"], dues["stripe_invoice_id"]) == (
        "eur", "10.00", "4.00", "6.00", "in_mar31")
    assert "exported 2 contribution(s)" in result.stderr


def test_open_ended_periods(cli, year):
    since = parse(cli("contributions", "export", "--since", "2026-04-01").stdout)
    until = parse(cli("contributions", "export", "--until", "2026-02-28").stdout)
    everything = parse(cli("contributions", "export").stdout)
    assert [r["receipt_number"] for r in since] == [year["apr"].receipt_number]
    assert [r["receipt_number"] for r in until] == [year["feb"].receipt_number]
    assert len(everything) == 4


def test_export_to_a_file(cli, year, tmp_path):
    target = tmp_path / "march.csv"
    result = cli("contributions", "export", "--since", "2026-03-01", "--until", "2026-03-31", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert len(parse(target.read_text(encoding="utf-8"))) == 2


def test_help_explains_the_columns_and_options(cli):
    result = cli("contributions", "export", "--help")
    assert result.exit_code == 0
    for words in ("--since", "--until", "--output", "YYYY-MM-DD", "receipt_number", "stripe_charge_id", "major unit"):
        assert words in result.output, words


@pytest.mark.parametrize("args, words", [(["--since", "March"], "'March' does not match the format '%Y-%m-%d'"),
                                         (["--since", "2026-04-01", "--until", "2026-03-01"], "must not be after --until")])
def test_bad_dates_are_one_clear_error(cli, args, words):
    result = cli("contributions", "export", *args)
    assert result.exit_code == 2
    assert words in result.output and "Traceback" not in result.output
