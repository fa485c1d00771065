"""Languages: which one a page or an email is in, which way it reads, and what Stripe calls it.

Reader pages and emails are written in English and translated through gettext catalogs in
service/translations/ (`make translations` extracts and compiles them); `LANGUAGES` lists the
languages offered. The web layer picks each page's language (service/web/i18n.py); an email is
rendered in its member's stored language, whatever page queued it, with `in_language`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from babel import Locale
from flask import current_app
from flask_babel import force_locale, format_date, format_datetime, get_locale

from service.config import SOURCE_LANGUAGE

# The languages Stripe's hosted Checkout and billing portal both display (the `locale` parameter of
# checkout.Session and billing_portal.Session in stripe==16.1.0). Anything else, Arabic included,
# is sent as "auto": Stripe then follows the reader's browser.
STRIPE_LOCALES = frozenset({
    "bg", "cs", "da", "de", "el", "en", "es", "et", "fi", "fil", "fr", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv",
    "ms", "mt", "nb", "nl", "pl", "pt", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh",
})
STRIPE_AUTO = "auto"
# English keeps the house style for dates ("5 March 2027"); other languages write them their own
# way (CLDR's long date: "5 mars 2027", "5 مارس 2027").
HOUSE_DAY = "d MMMM y"
HOUSE_MOMENT = "dd MMMM y, HH:mm 'UTC'"


def offered() -> list[str]:
    """The languages this service offers, from `LANGUAGES` (English among them)."""
    return list(current_app.config["LANGUAGES"])


def supported(code: str | None) -> str | None:
    """The offered language a code names ("fr", "FR", "fr-CA", "fr_CA" all name French), or None."""
    if not code:
        return None
    language = code.strip().replace("_", "-").split("-")[0].lower()
    return language if language in offered() else None


def current_language() -> str:
    """The language of the page or email being made; English outside a request."""
    locale = get_locale()
    return locale.language if locale is not None else SOURCE_LANGUAGE


def text_direction(language: str | None = None) -> str:
    """"rtl" for a language written right to left (Arabic), else "ltr"."""
    return Locale.parse(language or current_language()).text_direction


def language_name(language: str) -> str:
    """The language's name in itself, as a menu shows it: "English", "Français", "العربية"."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def stripe_locale(language: str | None) -> str:
    """What Stripe Checkout and the portal are asked to show for a language ("auto" when Stripe has none)."""
    code = supported(language) or SOURCE_LANGUAGE
    return code if code in STRIPE_LOCALES else STRIPE_AUTO


def format_day(value: date | datetime, english: str = HOUSE_DAY, other: str = "long") -> str:
    """A date as the page's (or email's) language writes it; `english` is the pattern English keeps
    (a receipt's "2026-11-30" is "yyyy-MM-dd"), `other` the CLDR length other languages use ("short"
    where room is tight: "15/12/2025"). Times are read in UTC."""
    return format_date(value, english if current_language() == SOURCE_LANGUAGE else other)


def format_moment(value: datetime) -> str:
    """A date and time in UTC as the language writes it: "05 March 2027, 14:30 UTC", "5 mars 2027, 14:30:00 TU"."""
    return format_datetime(value, HOUSE_MOMENT if current_language() == SOURCE_LANGUAGE else "long")


def N_(message: str) -> str:
    """Mark a message for the catalog where it is written, to be translated later with gettext (gettext's convention)."""
    return message


@contextmanager
def in_language(language: str | None) -> Iterator[str]:
    """Render in this language (English when it is not offered), whatever the page's own: emails
    are in their member's language. Yields the language used."""
    code = supported(language) or SOURCE_LANGUAGE
    with force_locale(code):
        yield code
