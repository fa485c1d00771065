"""Languages without a browser or Stripe: the LANGUAGES setting, the page's language and its
direction, Stripe's name for it, and amounts and dates written and read the locale's way."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_babel import force_locale

from service.config import ConfigError, load_config
from service.i18n import format_day, format_moment, in_language, language_name, stripe_locale, supported, text_direction
from service.money import currency_after, currency_symbol, format_money, parse_amount
from service.schemas.join import dollars_to_cents, money

BASE = {"SECRET_KEY": "k", "MEMBERSHIP_ENV": "test"}


def test_languages_default_to_english_french_and_arabic():
    assert load_config(environ=BASE)["LANGUAGES"] == ["en", "fr", "ar"]
    assert load_config(environ={**BASE, "LANGUAGES": " FR, en ,fr"})["LANGUAGES"] == ["fr", "en"]


@pytest.mark.parametrize("value, problem", [
    ("fr,ar", "must include en"),
    ("en,de", "'de', which has no compiled catalog"),
    ("en,fr-CA", "language codes separated by commas"),
])
def test_languages_refused_with_a_reason(value, problem):
    with pytest.raises(ConfigError, match=problem):
        load_config(environ={**BASE, "LANGUAGES": value})


def test_names_directions_and_stripes_locales(app):
    with app.app_context():
        assert [language_name(code) for code in ("en", "fr", "ar")] == ["English", "Français", "العربية"]
        assert (text_direction("ar"), text_direction("fr"), text_direction("en")) == ("rtl", "ltr", "ltr")
        assert (supported("FR"), supported("fr-CA"), supported("ar_EG"), supported("de"), supported(None)) == (
            "fr", "fr", "ar", None, None)
        # Stripe shows Checkout and the portal in French, not in Arabic: "auto" lets the browser decide.
        assert (stripe_locale("fr"), stripe_locale("ar"), stripe_locale(None), stripe_locale("de")) == ("fr", "auto", "en", "en")


def test_in_language_falls_back_to_english_for_a_language_not_offered(app):
    with app.test_request_context("/?lang=fr"):
        with in_language("de") as used:
            assert used == "en" and text_direction() == "ltr"
        with in_language("ar") as used:
            assert used == "ar" and text_direction() == "rtl"


def test_dates_keep_the_house_style_in_english_and_the_locales_elsewhere(app):
    day, moment = datetime(2027, 3, 5, 14, 30, tzinfo=UTC), datetime(2027, 3, 5, 14, 30, tzinfo=UTC)
    with app.test_request_context("/"):
        assert (format_day(day), format_day(day, "yyyy-MM-dd")) == ("5 March 2027", "2027-03-05")
        assert format_moment(moment) == "05 March 2027, 14:30 UTC"
        with force_locale("fr"):
            assert (format_day(day), format_day(day, "yyyy-MM-dd")) == ("5 mars 2027", "5 mars 2027")
        with force_locale("ar"):
            assert format_day(day) == "5 مارس 2027"


@pytest.mark.parametrize("locale, amounts", [
    ("en", ["$5.00", "$1,234.50", "$5", "$7.50", "$10000"]),
    ("fr", ["5,00\u00a0$US", "1\u202f234,50\u00a0$US", "5\u00a0$US", "7,50\u00a0$US", "10000\u00a0$US"]),
    # Right to left, the Latin sign is isolated (LRI ... PDI) so that it reads "US$", not "$US".
    ("ar", [f"\u200f{n}\u00a0\u2066US$\u2069" for n in ("5.00", "1,234.50", "5", "7.50", "10000")]),
])
def test_amounts_are_written_the_locales_way(locale, amounts):
    written = [format_money(500, "usd", locale), format_money(123450, "usd", locale)]
    written += [format_money(cents, "usd", locale, short=True) for cents in (500, 750, 1_000_000)]
    assert written == amounts


def test_where_the_currency_sign_goes(app):
    assert (currency_after("en"), currency_after("fr"), currency_after("ar")) == (False, True, True)
    assert (currency_symbol("usd", "en"), currency_symbol("usd", "fr"), currency_symbol("usd", "ar")) == (
        "$", "$US", "\u2066US$\u2069")


def test_what_is_written_is_read_back(app):
    for locale in ("en", "fr", "ar"):
        for cents in (5, 750, 123450):
            assert parse_amount(format_money(cents, "usd", locale), "usd", locale) == cents, (locale, cents)


def test_money_in_a_sentence_follows_the_page(app):
    with app.test_request_context("/"):
        assert (money(500), money(750)) == ("$5", "$7.50")
        with force_locale("fr"):
            assert (money(500), money(750)) == ("5\u00a0$US", "7,50\u00a0$US")


@pytest.mark.parametrize("typed, cents", [
    ("7,50", 750), ("7,5", 750), ("1 000", 100_000), ("1\u202f000,25", 100_025), ("7.50", 750), ("7", 700),
    ("5 $US", 500), ("$7", 700),
])
def test_french_amounts_read_the_french_way_and_the_plain_way(typed, cents):
    assert parse_amount(typed, "usd", "fr") == cents


@pytest.mark.parametrize("typed", ["1,000", "7,505", "1.000", "-7", "1e3", "7,", ",5", "7 50", "sept"])
def test_french_amounts_that_are_not_amounts(typed):
    """A comma is the decimal sign in French: "1,000" is not a thousand, and three decimals are no amount."""
    assert parse_amount(typed, "usd", "fr") is None


def test_arabic_keyboards_digits_are_read_too():
    assert parse_amount("٧٫٥٠", "usd", "ar") == 750 and parse_amount("١٬٠٠٠", "usd", "ar") == 100_000
    assert parse_amount("٧٫٥٠", "usd", "en") is None, "English reads Latin digits only"


def test_zero_decimal_currencies_take_no_cents():
    assert (parse_amount("500", "jpy", "en"), parse_amount("7.50", "jpy", "en")) == (500, None)


def test_the_join_forms_amount_follows_the_page(app):
    with app.test_request_context("/"):
        assert (dollars_to_cents("7,50"), dollars_to_cents("1,000")) == (None, 100_000)
        with force_locale("fr"):
            assert (dollars_to_cents("7,50"), dollars_to_cents("1,000")) == (750, None)
