"""Write the README's giving samples from the service's own code: a receipt email as a reader
gets it (docs/samples/receipt.txt) and the first page of an annual statement
(docs/samples/statement.pdf, and docs/screenshots/statement.png when Poppler's `pdftoppm` is
installed: `apt-get install poppler-utils`).

    .venv/bin/python scripts/giving_samples.py

Runs on a temporary SQLite database; no Stripe, no network.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service import create_app  # noqa: E402 - after the path set-up above
from service.cli.database import alembic_config  # noqa: E402
from service.domain import emails  # noqa: E402
from service.domain.giving.statements import pdf_for  # noqa: E402
from service.extensions import db  # noqa: E402
from service.models import Contribution, ContributionKind, DedicationType, Member, MemberStatus  # noqa: E402

SETTINGS = {"RECEIPT_ORG_NAME": "The Newsroom", "RECEIPT_TAX_ID": "12-3456789", "FISCAL_YEAR_START_MONTH": "7"}


def main() -> None:
    from alembic import command

    docs = ROOT / "docs"
    (docs / "samples").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/samples.sqlite3"
        command.upgrade(alembic_config(url), "head")
        app = create_app({"DATABASE_URL": url, "MEMBERSHIP_ENV": "test", "OUTBOX_DELIVER_INLINE": False, **SETTINGS})
        with app.app_context():
            member = Member(email="grace@example.org", name="Grace Giver", status=MemberStatus.ACTIVE)
            db.session.add(member)
            db.session.flush()
            rows = [
                Contribution(member_id=member.id, kind=ContributionKind.MEMBERSHIP, amount=500, currency="usd",
                             paid_at=datetime(2025, 8, 3, tzinfo=UTC), attribution={}),
                Contribution(member_id=member.id, kind=ContributionKind.ONE_TIME, amount=2606, fee_covered=106,
                             currency="usd", paid_at=datetime(2025, 12, 15, tzinfo=UTC), attribution={},
                             dedication_type=DedicationType.MEMORY, dedication_name="Ida B. Wells", term_months=5),
                Contribution(member_id=member.id, kind=ContributionKind.ONE_TIME, amount=5000, refunded_amount=2000,
                             currency="eur", paid_at=datetime(2026, 3, 1, tzinfo=UTC), attribution={}),
            ]
            db.session.add_all(rows)
            db.session.flush()
            for row in rows:
                row.receipt_number = f"{row.paid_at.year}-{row.id:06d}"
            message = emails.queue_receipt(member, rows[1])
            assert message is not None
            receipt = f"Subject: {message.payload['subject']}\n\n{message.payload['text']}"
            (docs / "samples" / "receipt.txt").write_text(receipt)
            pdf = pdf_for(member.id, 2026, datetime(2026, 7, 2, tzinfo=UTC))
            (docs / "samples" / "statement.pdf").write_bytes(pdf)
            db.session.rollback()
        app.extensions["db_engine"].dispose()
    print(f"wrote {docs / 'samples' / 'receipt.txt'} and {docs / 'samples' / 'statement.pdf'}")
    if shutil.which("pdftoppm"):
        out = docs / "screenshots" / "statement"
        subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
                        str(docs / "samples" / "statement.pdf"), str(out)], check=True)
        print(f"wrote {out}.png")
    else:
        print("pdftoppm not found: no PNG of the statement (apt-get install poppler-utils)")


if __name__ == "__main__":
    main()
