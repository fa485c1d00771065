"""Amounts of money as people read them: minor units and a currency, formatted by Babel (CLDR).

An amount is always an integer count of the currency's minor unit (cents, rappen) with its
currency, never a float. `format_money(2500, "usd")` is "$25.00"; `format_money(2500, "eur",
"fr")` is "25,00 €". Zero-decimal currencies (Stripe's list) have no minor unit: 500 JPY is ¥500.
"""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency
from flask import Flask

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                          "vuv", "xaf", "xof", "xpf"})
DEFAULT_LOCALE = "en_US"


def minor_units(currency: str) -> int:
    """How many decimal places Stripe's amounts in this currency carry."""
    return 0 if currency.lower() in ZERO_DECIMAL else 2


def to_decimal(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-minor_units(currency))


def format_money(amount: int, currency: str, locale: str | None = None) -> str:
    """The amount as the locale writes it, e.g. "$5.00", "CHF 7.50", "25,00 €"."""
    return format_currency(to_decimal(amount, currency), currency.upper(), locale=locale or DEFAULT_LOCALE)


def format_totals(totals: dict[str, int], locale: str | None = None) -> str:
    """Several currencies' totals on one line, e.g. "$25.00 + €10.00"; "nothing" when empty."""
    return " + ".join(format_money(amount, currency, locale) for currency, amount in sorted(totals.items())) or "nothing"


def register_formatting(app: Flask) -> None:
    """Make the formatters available to every template (pages and emails)."""
    app.jinja_env.globals.update(format_money=format_money, format_totals=format_totals)
