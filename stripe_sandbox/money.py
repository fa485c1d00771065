"""Human-readable amounts for the hosted pages ("$5.00 / month")."""
from .currencies import unit_amount_in

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$"}
# Stripe's zero-decimal currencies that a newsroom might plausibly see.
_ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "isk"}


def format_amount(amount: int, currency: str) -> str:
    currency = currency.lower()
    value = f"{amount:,}" if currency in _ZERO_DECIMAL else f"{amount / 100:,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{value}" if symbol else f"{value} {currency.upper()}"


def format_price(price: dict, quantity: int = 1, currency: str | None = None) -> str:
    """The price in `currency` (one of its currency options; default: its own currency)."""
    currency = currency or price["currency"]
    text = format_amount(unit_amount_in(price, currency) * quantity, currency)
    recurring = price.get("recurring")
    if not recurring:
        return text
    count, interval = recurring["interval_count"], recurring["interval"]
    return f"{text} / {interval}" if count == 1 else f"{text} / {count} {interval}s"
