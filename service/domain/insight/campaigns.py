"""Campaigns: the members and the money each brought over a period, in one table.

A campaign's joins are the members who joined in the period with it as their first touch (the
first visit that carried a campaign) and, beside it, as their latest touch. Its revenue is its
contributions' net (after refunds and lost disputes) per currency, and in the reporting
currency with the rate Stripe applied (else FX_RATES), with the rate each part used.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select

from service.domain.insight.contributions import _net, first_touch_campaign
from service.domain.insight.fx import Converted, Rates, converted_total
from service.domain.insight.revenue import stripe_rate_key
from service.extensions import db
from service.models import Contribution, Member

TOP = 25


@dataclass
class CampaignFigures:
    campaign: str
    joins_first_touch: int = 0
    joins_latest_touch: int = 0
    contributions: int = 0
    revenue: list[Converted] = field(default_factory=list)  # net, per currency and rate source
    reporting: str = ""  # the currency of `converted`

    @property
    def converted(self) -> int:
        return converted_total(self.revenue)

    @property
    def unconverted(self) -> list[str]:
        """Currencies with no rate, left out of `converted`."""
        return sorted({r.currency for r in self.revenue if r.converted is None})


def latest_touch_campaign() -> ColumnElement[str]:
    return func.coalesce(Member.latest_touch["campaign"].as_string(), Member.latest_touch["utm_campaign"].as_string())


def _joins(touch: ColumnElement[Any], since: datetime, until: datetime) -> dict[str, int]:
    campaign = touch.label("campaign")
    return dict(db.session.execute(
        select(campaign, func.count()).where(Member.created_at >= since, Member.created_at < until,
                                             campaign.is_not(None)).group_by(campaign)).all())


def _revenue(since: datetime, until: datetime, rates: Rates) -> dict[str, CampaignFigures]:
    key = stripe_rate_key(rates.reporting)
    rows = db.session.execute(
        select(func.coalesce(Contribution.campaign, ""), Contribution.currency, key, func.count(), func.sum(_net()))
        .where(Contribution.campaign.is_not(None), Contribution.paid_at >= since, Contribution.paid_at < until)
        .group_by(Contribution.campaign, Contribution.currency, key))
    found: dict[str, CampaignFigures] = {}
    parts: dict[tuple[str, str, str], Converted] = {}
    for campaign, currency, stripe_rate, count, net in rows:  # campaign IS NOT NULL
        rate, source = rates.for_payment(currency, stripe_rate)
        row = found.setdefault(campaign, CampaignFigures(campaign))
        row.contributions += count
        part = parts.get((campaign, currency, source))
        if part is None:
            part = parts[(campaign, currency, source)] = Converted(currency, source)
            row.revenue.append(part)
        part.add(int(net or 0), rate, rates.reporting)
    return found


def campaign_figures(since: datetime, until: datetime, rates: Rates, *, top: int = TOP) -> list[CampaignFigures]:
    """The `top` campaigns of the period by converted revenue, then by joins."""
    found = _revenue(since, until, rates)
    for attr, touch in (("joins_first_touch", first_touch_campaign()), ("joins_latest_touch", latest_touch_campaign())):
        for campaign, n in _joins(touch, since, until).items():
            setattr(found.setdefault(campaign, CampaignFigures(campaign)), attr, n)
    for row in found.values():
        row.reporting = rates.reporting
    ranked = sorted(found.values(), key=lambda r: (-r.converted, -r.joins_first_touch, r.campaign))
    return ranked[:top]
