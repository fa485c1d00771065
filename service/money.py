"""Amounts of money as people read and type them: minor units and a currency, formatted and read
by Babel (CLDR) in the page's or email's locale.

An amount is always an integer count of the currency's minor unit (cents, rappen) with its
currency, never a float. `format_money(2500, "usd")` is "$25.00" in English; `format_money(2500,
"eur", "fr")` is "25,00 €". Zero-decimal currencies (Stripe's list) have no minor unit: 500 JPY is
¥500. With no locale given, the current one (flask_babel: the page's, or the email's) is used,
and English (en_US) outside a request.
"""
from __future__ import annotations

import re
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency, get_currency_name, get_currency_symbol, get_decimal_symbol, get_group_symbol, parse_decimal
from flask import Flask
from flask_babel import get_locale

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                          "vuv", "xaf", "xof", "xpf"})
DEFAULT_LOCALE = "en_US"
# What readers type between groups of digits where the locale groups with a space (French: "1 000").
SPACES = " \u00a0\u202f\u2009"
# Digits and separators an Arabic keyboard types, read as the Latin ones the pages show.
ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩٫٬", "0123456789.,")
# Direction marks CLDR puts around amounts in right-to-left locales, and the isolates (LRI ... PDI)
# that keep a Latin currency sign in one piece there: "US$", not "$US".
MARKS = "\u200e\u200f\u061c\u2066\u2069"
LRI, PDI = "\u2066", "\u2069"


def minor_units(currency: str) -> int:
    """How many decimal places Stripe's amounts in this currency carry."""
    return 0 if currency.lower() in ZERO_DECIMAL else 2


def to_decimal(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-minor_units(currency))


def current_locale() -> str:
    """The locale of the page or email being made (en_US when there is none, and for plain English)."""
    locale = get_locale()
    if locale is None or (locale.language == "en" and not locale.territory):
        return DEFAULT_LOCALE
    return str(locale)


def format_money(amount: int, currency: str, locale: str | None = None, *, short: bool = False) -> str:
    """The amount as the locale writes it, e.g. "$5.00", "CHF 7.50", "25,00 €", "5,00 $US".

    `short` is how prices read in a sentence: no cents when there are none, and no grouping of
    thousands ("$5", "$7.50", "$10000"; "5 $US" in French)."""
    loc = locale or current_locale()
    value = to_decimal(amount, currency)
    if not short:
        return _isolated(format_currency(value, currency.upper(), locale=loc), currency, loc)
    pattern = None
    if value == value.to_integral_value():
        pattern = Locale.parse(loc).currency_formats["standard"].pattern.replace(".00", "")
    written = format_currency(value, currency.upper(), pattern, locale=loc, currency_digits=pattern is None, group_separator=False)
    return _isolated(written, currency, loc)


def _isolated(written: str, currency: str, locale: str) -> str:
    """In a right-to-left locale, the currency sign as one left-to-right piece ("US$ 5" reads right)."""
    if Locale.parse(locale).character_order != "right-to-left":
        return written
    symbol = get_currency_symbol(currency.upper(), locale=locale)
    return written.replace(symbol, f"{LRI}{symbol}{PDI}", 1) if symbol.isascii() else written


def format_totals(totals: dict[str, int], locale: str | None = None) -> str:
    """Several currencies' totals on one line, e.g. "$25.00 + €10.00"; "nothing" when empty."""
    return " + ".join(format_money(amount, currency, locale) for currency, amount in sorted(totals.items())) or "nothing"


def currency_symbol(currency: str, locale: str | None = None) -> str:
    """The sign the locale writes beside amounts of this currency: "$" in English, "$US" in French."""
    loc = locale or current_locale()
    return _isolated(get_currency_symbol(currency.upper(), locale=loc), currency, loc)


def currency_name(currency: str, locale: str | None = None) -> str:
    """"US dollars", "francs suisses": the currency as the locale names amounts of it."""
    return get_currency_name(currency.upper(), count=2, locale=locale or current_locale())


def currency_after(locale: str | None = None) -> bool:
    """Whether the locale writes the currency sign after the amount ("5 $US" in French), not before ("$5")."""
    pattern = Locale.parse(locale or current_locale()).currency_formats["standard"].pattern.split(";")[0]
    return pattern.strip(MARKS + " \u00a0").endswith("¤")


def _shape(decimal: str, group: str | None) -> re.Pattern[str]:
    """Digits, grouped by thousands (or not at all) with `group` (None: no grouping), then at most
    two decimals after `decimal`; no sign, no exponent."""
    fraction = rf"(?:{re.escape(decimal)}\d{{1,2}})?"
    if group is None:
        return re.compile(rf"^\d+{fraction}$", re.ASCII)
    separator = f"[{SPACES}]" if group.strip(SPACES) == "" else re.escape(group)
    return re.compile(rf"^\d{{1,3}}(?:{separator}?\d{{3}})*{fraction}$", re.ASCII)


def parse_amount(raw: str, currency: str, locale: str | None = None) -> int | None:
    """Minor units from an amount a reader typed, or None when it is not a plain amount.

    Read the locale's way first ("7,50" and "1 000" in French, "1,000.50" in English), then, if
    that fails and the text has no decimal comma, the plain way ("7.50" typed on a French page).
    At most two decimals, no sign; the currency's sign before or after it is ignored.
    """
    loc = Locale.parse(locale or current_locale())
    text = raw.strip().strip(MARKS).strip()
    for symbol in sorted({"$", currency.upper(), get_currency_symbol(currency.upper(), locale=loc)}, key=len, reverse=True):
        text = text.removeprefix(symbol).removesuffix(symbol).strip(SPACES + MARKS)
    if loc.language == "ar":
        text = text.translate(ARABIC_DIGITS)
    decimal, group = get_decimal_symbol(loc), get_group_symbol(loc)
    value: Decimal | None = None
    if _shape(decimal, group).match(text):
        spaced = group.strip(SPACES) == ""
        value = parse_decimal(re.sub(f"[{SPACES}]", "", text) if spaced else text, locale=loc, strict=False)
    elif decimal != "." and decimal not in text and _shape(".", None).match(text):
        value = Decimal(text)
    if value is None:
        return None
    minor = value.scaleb(minor_units(currency))
    return int(minor) if minor == minor.to_integral_value() else None  # "7.50" yen is no amount


def register_formatting(app: Flask) -> None:
    """Make the formatters available to every template (pages and emails)."""
    app.jinja_env.globals.update(format_money=format_money, format_totals=format_totals, currency_symbol=currency_symbol,
                                 currency_name=currency_name, currency_after=currency_after)
