"""Amounts in the reporting currency, and which exchange rate made them (DESIGN.md "Currencies").

A payment is converted with the rate Stripe applied to it (its balance transaction's
`exchange_rate`, kept on the contribution) when Stripe settled it in the reporting currency.
Otherwise, and for projections that no payment has priced yet (recurring revenue), the
configured `FX_RATES` stand in. Every converted figure carries its `RateSource`, so staff can
tell Stripe's rates from the configured ones; an amount with no rate at all is left out of
converted totals and listed as such, never guessed.

Rates are Decimals of major units (one EUR is 1.08 USD); amounts stay integers in minor units.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from flask import current_app

from service.money import minor_units, to_decimal


class RateSource(enum.StrEnum):
    SAME = "same_currency"  # already in the reporting currency
    STRIPE = "stripe"  # the rate Stripe applied (balance transaction)
    FX_RATES = "fx_rates"  # the configured FX_RATES
    UNAVAILABLE = "unavailable"  # no rate: not in converted totals


LABELS = {RateSource.SAME: "no conversion", RateSource.STRIPE: "Stripe's applied rate",
          RateSource.FX_RATES: "configured FX_RATES", RateSource.UNAVAILABLE: "no rate (not converted)"}


@dataclass(frozen=True)
class Rates:
    """The reporting currency and the configured fallback rates."""

    reporting: str
    fx: Mapping[str, Decimal] = field(default_factory=dict)

    @classmethod
    def configured(cls, config: Mapping[str, Any] | None = None) -> Rates:
        """From the app's settings (REPORTING_CURRENCY, FX_RATES)."""
        settings = current_app.config if config is None else config
        return cls(str(settings.get("REPORTING_CURRENCY") or "usd"), dict(settings.get("FX_RATES") or {}))

    def fallback(self, currency: str) -> tuple[Decimal | None, RateSource]:
        """The rate for an amount Stripe has not converted: none needed, FX_RATES, or none known."""
        if currency == self.reporting:
            return Decimal(1), RateSource.SAME
        rate = self.fx.get(currency)
        return (rate, RateSource.FX_RATES) if rate is not None else (None, RateSource.UNAVAILABLE)

    def for_payment(self, currency: str, stripe_rate: str | None) -> tuple[Decimal | None, RateSource]:
        """The rate for a payment: Stripe's when it converted into the reporting currency
        (`stripe_rate` is only given for those), else the fallback."""
        if currency != self.reporting and stripe_rate:
            try:
                return Decimal(stripe_rate), RateSource.STRIPE
            except InvalidOperation:
                pass  # a value Stripe never sends: fall back rather than fail the dashboard
        return self.fallback(currency)


def convert(amount: int, currency: str, rate: Decimal, reporting: str) -> int:
    """Minor units of `currency` times a major-unit rate, as minor units of `reporting`
    (half to even: no bias over many sums)."""
    value = to_decimal(amount, currency) * rate
    return int(value.scaleb(minor_units(reporting)).to_integral_value(ROUND_HALF_EVEN))


@dataclass
class Converted:
    """Amounts in one currency, priced by one kind of rate, and their sum in the reporting currency."""

    currency: str
    rate_source: RateSource
    amount: int = 0  # minor units of `currency`
    converted: int | None = 0  # minor units of the reporting currency; None when no rate
    rate: Decimal | None = None  # the rate (FX_RATES, or 1); Stripe's: the effective average
    reporting: str = ""  # the currency of `converted`

    def add(self, amount: int, rate: Decimal | None, reporting: str) -> None:
        self.reporting = reporting
        self.amount += amount
        if rate is None or self.converted is None:
            self.converted = None
        else:
            self.converted += convert(amount, self.currency, rate, reporting)
        if self.rate_source is RateSource.STRIPE and self.amount and self.converted is not None:
            self.rate = (to_decimal(self.converted, reporting) / to_decimal(self.amount, self.currency)).quantize(
                Decimal("0.000001"))
        elif self.rate_source is not RateSource.STRIPE:
            self.rate = rate


def converted_total(parts: list[Converted]) -> int:
    """The sum of the parts that could be converted (minor units of the reporting currency)."""
    return sum(p.converted for p in parts if p.converted is not None)
