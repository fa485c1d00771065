"""Which currency a reader's join, give and gift forms are in (DESIGN.md "Currencies"): `?currency=`
(or the form's own field), then the country of the reader's locale (a Swiss browser, `de-CH`, gets
francs when CHF is offered), then the first of CURRENCIES.

The choice is a list of links to the same page with `?currency=`, like the language switcher: it
works without script, and the form carries the chosen currency in a hidden field.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from babel import Locale, UnknownLocaleError
from babel.numbers import get_territory_currencies
from flask import current_app, request


def offered_currencies() -> list[str]:
    return list(current_app.config["CURRENCIES"])


def _from_locale(offered: list[str]) -> str | None:
    """The first offered currency of a country named in Accept-Language (de-CH: chf), if any."""
    for tag, _quality in request.accept_languages:
        try:
            territory = Locale.parse(tag, sep="-").territory
        except (ValueError, UnknownLocaleError):
            continue
        for code in get_territory_currencies(territory) if territory else ():
            if code.lower() in offered:
                return code.lower()
    return None


def chosen_currency(values: Mapping[str, str] | None = None) -> str:
    """The currency for this request's form: `values["currency"]` (the query or the posted form)
    when offered, else the locale's country's, else the first offered."""
    offered = offered_currencies()
    asked = ((values if values is not None else request.values).get("currency") or "").strip().lower()
    if asked in offered:
        return asked
    return _from_locale(offered) or offered[0]


@dataclass(frozen=True)
class CurrencyLink:
    code: str
    name: str
    url: str
    current: bool


def currency_links(current: str) -> list[CurrencyLink]:
    """One link per offered currency, to this page in it (other query parameters kept); empty when
    only one is offered."""
    offered = offered_currencies()
    if len(offered) < 2:
        return []
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "currency"] if request.method == "GET" else []
    return [CurrencyLink(code, code.upper(), f"{request.script_root}{request.path}?{urlencode([*args, ('currency', code)])}",
                         code == current) for code in offered]
