"""Members as CSV: export of a search, and import of members from another system.

Export goes through the one CSV writer (`service.domain.csv_out`), which
escapes any value a spreadsheet would run as a formula (OWASP "CSV injection").

Import reads `email,name,stripe_customer_id,comp_until,newsletters` (only
`email` is required; `comp_until` is YYYY-MM-DD; `newsletters` lists the slugs
the person consented to, separated by spaces or semicolons). Each row is
applied in its own savepoint: a bad row is reported with its line number and
the others go in. A dry run does everything and rolls it all back.
"""
from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select

from service.domain import csv_out
from service.domain.csv_out import cell
from service.domain.insight.search import MemberFilter, iter_all
from service.domain.integrations import webhooks
from service.domain.members.access import has_access, primary_subscription
from service.domain.members.status import refresh_status
from service.domain.newsletter.subscriptions import resubscribe
from service.errors import DomainError
from service.extensions import db
from service.logs import log_event
from service.models import ConsentSource, Member, MemberStatus, Newsletter, normalize_email

logger = logging.getLogger(__name__)
EXPORT_COLUMNS = ["id", "email", "name", "status", "has_access", "plan", "stripe_customer_id", "comp_until", "joined"]
IMPORT_COLUMNS = ["email", "name", "stripe_customer_id", "comp_until", "newsletters"]
__all__ = ["EXPORT_COLUMNS", "IMPORT_COLUMNS", "ImportReport", "cell", "export_rows", "import_members"]


def export_rows(f: MemberFilter, now: datetime, *, release: bool = False) -> Iterator[str]:
    """CSV lines (header first) for every member matching the filter."""
    return csv_out.lines(EXPORT_COLUMNS, (_export_row(m, now) for m in iter_all(f, release=release)))


def _export_row(m: Member, now: datetime) -> list[Any]:
    sub = primary_subscription(m.subscriptions)
    plan = sub.plan.code if sub is not None and sub.plan is not None else ""
    return [m.id, m.email, m.name, m.status, "yes" if has_access(m, now) else "no", plan,
            m.stripe_customer_id, m.comp_until.date().isoformat() if m.comp_until else "",
            m.created_at.date().isoformat()]


@dataclass
class ImportReport:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)
    dry_run: bool = False


class RowError(Exception):
    """A row that cannot be imported; the message says what to fix."""


def _parse(row: dict[str, str | None], lists: dict[str, Newsletter], now: datetime) -> dict[str, Any]:
    email = normalize_email(row.get("email") or "")
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise RowError(f"not an email address: {email!r}")
    until = None
    if (raw := (row.get("comp_until") or "").strip()):
        try:
            until = datetime.combine(date.fromisoformat(raw), time.min, tzinfo=UTC)
        except ValueError:
            raise RowError(f"comp_until must be a date like 2027-01-31, got {raw!r}") from None
        if until <= now:
            raise RowError(f"comp_until {raw} is in the past")
    slugs = [s for s in (row.get("newsletters") or "").replace(";", " ").split() if s]
    unknown = [s for s in slugs if s not in lists]
    if unknown:
        raise RowError(f"unknown newsletter(s): {', '.join(unknown)}; known: {', '.join(sorted(lists))}")
    return {"email": email, "name": (row.get("name") or "").strip()[:200],
            "customer": (row.get("stripe_customer_id") or "").strip() or None, "until": until, "slugs": slugs}


def _apply(values: dict[str, Any], now: datetime) -> None:
    if db.session.scalar(select(Member.id).where(Member.email == values["email"])) is not None:
        raise RowError(f"{values['email']} is already a member")
    if values["customer"] and db.session.scalar(
            select(Member.id).where(Member.stripe_customer_id == values["customer"])) is not None:
        raise RowError(f"Stripe customer {values['customer']} already belongs to a member")
    member = Member(email=values["email"], name=values["name"], stripe_customer_id=values["customer"],
                    status=MemberStatus.PENDING, created_at=now, status_changed_at=now)
    db.session.add(member)
    db.session.flush()
    if values["until"] is not None:
        member.comp_since, member.comp_until = now, values["until"]
        refresh_status(member, now, detail="comp from import")
    for slug in values["slugs"]:
        resubscribe(member, slug, ConsentSource.IMPORT, now=now)
    webhooks.publish("member.created", {"member": member}, now=now)


def import_members(lines: Iterable[str], now: datetime, *, dry_run: bool = False,
                   tick: Callable[[], None] = lambda: None) -> ImportReport:
    """Create the members in a CSV; report each bad row. Flushes; the caller commits (or not)."""
    reader = csv.DictReader(lines)
    missing = [c for c in ("email",) if c not in (reader.fieldnames or [])]
    if missing:
        raise DomainError(f"The CSV needs a header row with at least: email (columns: {', '.join(IMPORT_COLUMNS)}).")
    lists = {n.slug: n for n in db.session.scalars(select(Newsletter))}
    report = ImportReport(dry_run=dry_run)
    outer = db.session.begin_nested() if dry_run else None
    for row in reader:
        try:
            with db.session.begin_nested():
                _apply(_parse(row, lists, now), now)
            report.created += 1
        except (RowError, DomainError) as exc:
            report.errors.append((reader.line_num, str(exc)))
        tick()
    if outer is not None:
        outer.rollback()
    log_event(logger, "members.imported", created=report.created, errors=len(report.errors), dry_run=dry_run)
    return report
