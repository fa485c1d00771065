"""The insight figures in `GET /api/v1/stats` (added beside the dashboard's earlier keys).

Amounts are integers in minor units, each beside its currency; a converted amount is an object
`{amount, currency}` in the reporting currency (null when no rate is known) with the
`rate_source` that made it (`same_currency`, `stripe`: the rate Stripe applied, `fx_rates`: the
configured FX_RATES, `unavailable`) and the `rate` (a decimal string; Stripe's: the effective
average). Shares and rates are decimal strings, never floats.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from service.domain.insight.figures import share
from service.domain.insight.retention import OFFSETS
from service.domain.insight.revenue import KINDS
from service.schemas.staff_api import RevenueOut, StatsOut, When

Str = fields.String
Int = fields.Integer


def _rate(description: str) -> fields.Decimal:
    return fields.Decimal(as_string=True, allow_none=True, required=True,
                          metadata={"description": description, "type": "string", "format": "decimal"})


class MoneyOut(Schema):
    amount = Int(required=True, metadata={"description": "Minor units"})
    currency = Str(required=True)


class ConvertedOut(Schema):
    """An amount in its own currency and in the reporting currency, with the rate used."""

    currency = Str(required=True)
    amount = Int(required=True, metadata={"description": "Minor units of `currency`"})
    converted = fields.Method("_converted", allow_none=True, metadata={"schema": MoneyOut})
    rate_source = Str(required=True, metadata={"description": "same_currency, stripe, fx_rates or unavailable"})
    rate = _rate("Value of one unit of `currency` in the reporting currency")

    def _converted(self, part: Any) -> dict[str, Any] | None:
        return None if part.converted is None else {"amount": part.converted, "currency": part.reporting}


class InsightRevenueOut(RevenueOut):
    converted = fields.Nested(ConvertedOut, allow_none=True, required=True,
                              metadata={"description": "The monthly amount in the reporting currency, with FX_RATES"})


class CohortCellOut(Schema):
    months = Int(required=True)
    retained = Int(allow_none=True, required=True, metadata={"description": "Null until the whole cohort is this far in"})
    share = Str(allow_none=True, required=True, metadata={"description": "retained / members, a decimal string"})


class CohortOut(Schema):
    month = Str(required=True, metadata={"description": "Join month, YYYY-MM (first activation, UTC)"})
    members = Int(required=True, attribute="size")
    cells = fields.Method("_cells", metadata={"schema": CohortCellOut, "many": True})

    def _cells(self, cohort: Any) -> list[dict[str, Any]]:
        return [{"months": k, "retained": cohort.retained[k], "share": _text(share(cohort.share(k)))} for k in OFFSETS]


class ChurnOut(Schema):
    month = Str(required=True)
    voluntary = Int(required=True)
    involuntary = Int(required=True)
    ended = Int(required=True, metadata={"description": "A comp or term ran out"})
    total = Int(required=True)


class RecoveryOut(Schema):
    month = Str(required=True, metadata={"description": "YYYY-MM the invoice was created, or 'all'"})
    failed = Int(required=True, metadata={"description": "Invoices whose first attempt failed"})
    recovered = Int(required=True)
    retrying = Int(required=True)
    lost = Int(required=True)
    rate = fields.Method("_rate", allow_none=True, metadata={"type": "string"})
    revenue = fields.Method("_revenue", metadata={"schema": ConvertedOut, "many": True})
    converted = fields.Method("_total", metadata={"schema": MoneyOut})

    def _rate(self, r: Any) -> str | None:
        return _text(share(r.rate))

    def _revenue(self, r: Any) -> list[dict[str, Any]]:
        return ConvertedOut(many=True).dump(list(r.revenue.values()))

    def _total(self, r: Any) -> dict[str, Any]:
        return {"amount": r.converted(), "currency": r.reporting}


class MovementOut(Schema):
    month = Str(required=True)
    currency = Str(required=True)
    mrr = Int(required=True, metadata={"description": "Monthly recurring revenue in the month, minor units"})
    new = Int(required=True)
    reactivated = Int(required=True)
    expansion = Int(required=True)
    contraction = Int(required=True)
    churned = Int(required=True)
    net = Int(required=True)
    rate_source = Str(required=True)
    converted = fields.Method("_converted", allow_none=True, metadata={"type": "object"})

    def _converted(self, m: Any) -> dict[str, Any] | None:
        if any(m.converted.get(k) is None for k in ("mrr", *KINDS)):
            return None
        values = {k: m.converted[k] for k in ("mrr", *KINDS)}
        net = values["new"] + values["reactivated"] + values["expansion"] - values["contraction"] - values["churned"]
        return {"currency": m.reporting, **values, "net": net}


class CampaignOut(Schema):
    campaign = Str(required=True)
    joins_first_touch = Int(required=True)
    joins_latest_touch = Int(required=True)
    contributions = Int(required=True)
    revenue = fields.List(fields.Nested(ConvertedOut), required=True, metadata={"description": "Net, per currency"})
    converted = fields.Method("_total", metadata={"schema": MoneyOut})
    unconverted = fields.List(Str(), required=True, metadata={"description": "Currencies with no rate"})

    def _total(self, r: Any) -> dict[str, Any]:
        return {"amount": r.converted, "currency": r.reporting}


class CurrencyRevenueOut(Schema):
    currency = Str(required=True)
    rate_source = Str(required=True)
    contributions = Int(required=True)
    amount = Int(required=True, metadata={"description": "Paid, minor units, fee cover included"})
    net = fields.Nested(ConvertedOut, required=True, metadata={"description": "After refunds and lost disputes"})


class CancelMonthOut(Schema):
    month = Str(required=True, metadata={"description": "YYYY-MM (UTC)"})
    reasons = fields.Dict(keys=Str(), values=fields.Integer(), required=True)
    offers_accepted = fields.Dict(keys=Str(), values=fields.Integer(), required=True)
    cancelled = fields.Integer(required=True)
    kept = fields.Integer(required=True)


class CancelReasonsOut(Schema):
    """The cancel flow's answers over the twelve months: reasons given, offers accepted, per month."""

    reasons = fields.Dict(keys=Str(), values=fields.Integer(), required=True)
    offers_accepted = fields.Dict(keys=Str(), values=fields.Integer(), required=True)
    cancelled = fields.Integer(required=True)
    kept = fields.Integer(required=True)
    months = fields.List(fields.Nested(CancelMonthOut), required=True)


class InsightOut(Schema):
    """Every insight figure, with the period of the twelve-month ones."""

    since = When(required=True)
    until = When(required=True)
    reporting_currency = Str(required=True)
    fx_rates = fields.Dict(keys=Str(), values=fields.Decimal(as_string=True, metadata={"type": "string", "format": "decimal"}),
                           required=True, metadata={"description": "FX_RATES: one unit of each currency in the reporting currency"})
    retention = fields.List(fields.Nested(CohortOut), required=True, attribute="cohorts")
    churn = fields.List(fields.Nested(ChurnOut), required=True)
    recovery = fields.Method("_recovery", metadata={"type": "object"})
    movements = fields.List(fields.Nested(MovementOut), required=True)
    campaigns = fields.List(fields.Nested(CampaignOut), required=True)
    currencies = fields.Method("_currencies", metadata={"type": "object"})
    cancel_reasons = fields.Nested(CancelReasonsOut, allow_none=True)

    def _recovery(self, i: Any) -> dict[str, Any]:
        out = RecoveryOut()
        return {"months": out.dump(i.recovery, many=True), "total": out.dump(i.recovery_total)}

    def _currencies(self, i: Any) -> dict[str, Any]:
        return {"rows": CurrencyRevenueOut(many=True).dump(i.currencies),
                "converted": {"amount": i.currencies_converted, "currency": i.reporting_currency},
                "unconverted": i.unconverted}


class InsightStatsOut(StatsOut):
    """The dashboard's figures: the earlier keys, recurring revenue with its converted amount, and `insight`."""

    revenue = fields.List(fields.Nested(InsightRevenueOut), required=True)
    revenue_converted = fields.Method("_revenue_converted", metadata={"schema": MoneyOut})
    insight = fields.Method("_insight", metadata={"schema": InsightOut})

    def _revenue_converted(self, d: Any) -> dict[str, Any]:
        return {"amount": d.revenue_converted, "currency": d.reporting}

    def _insight(self, d: Any) -> dict[str, Any]:
        return InsightOut().dump(d.insight)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
