"""Billing periods: adding a price's interval to a unix time, calendar-aware.

Stripe bills monthly on the same day of the month, clamped to the month's
last day (Jan 31 -> Feb 28 -> Mar 31 follows the anchor, simplified here to
clamping from the previous period end).
"""
import calendar
from datetime import UTC, datetime, timedelta


def add_interval(ts: int, price: dict, count: int | None = None) -> int:
    """`ts` plus `count` (default the price's interval_count) of the price's interval."""
    recurring = price["recurring"]
    n = count if count is not None else recurring["interval_count"]
    start = datetime.fromtimestamp(ts, UTC)
    unit = recurring["interval"]
    if unit == "day":
        end = start + timedelta(days=n)
    elif unit == "week":
        end = start + timedelta(weeks=n)
    else:
        months = n * (12 if unit == "year" else 1)
        end = _add_months(start, months)
    return int(end.timestamp())


def _add_months(when: datetime, months: int) -> datetime:
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    day = min(when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)
