"""Multi-currency prices: which currencies a Price supports and its amount in each.

https://docs.stripe.com/api/prices/object#price_object-currency_options : a Price
has a default `currency`/`unit_amount` and may define `currency_options`, "Prices
defined in each available currency option", keyed by currency. The sandbox keeps
the options other than the default privately on the stored price
(`_currency_options`, {currency: {unit_amount, tax_behavior}}); the API shows them only when
asked (`expand[]=currency_options`, see resources/prices.py).
A subscription, an invoice or a Checkout Session in one of those currencies is
billed that option's `unit_amount`, while the item's `price` stays the same
Price object (its `currency` is still the default one).
"""
import re

from .wire import StripeError

_CODE = re.compile(r"[a-z]{3}")


def currency_code(value, param: str) -> str:
    """A lowercase three-letter code, or Stripe's invalid-currency error naming `param`."""
    code = value.lower() if isinstance(value, str) else ""
    if not _CODE.fullmatch(code):
        raise StripeError(f"Invalid currency: {value}. Stripe currently supports these currencies: "
                          "see https://stripe.com/docs/currencies", param=param)
    return code


def supported(price: dict) -> list[str]:
    """The price's currencies: its default one first, then its options."""
    return [price["currency"], *sorted(price.get("_currency_options") or {})]


def supports(price: dict, currency: str) -> bool:
    return currency in supported(price)


def unit_amount_in(price: dict, currency: str) -> int:
    """The price's unit amount in `currency` (its default amount, or that currency option's)."""
    if currency == price["currency"]:
        return price["unit_amount"]
    options = price.get("_currency_options") or {}
    if currency not in options:
        raise unsupported(price, currency)
    return options[currency]["unit_amount"]


def unsupported(price: dict, currency: str, param: str = "currency") -> StripeError:
    """Stripe's error for a price used in a currency it has no option for, as a Checkout
    Session with `currency` gets it (https://github.com/airbadge-dev/airbadge/issues/15)."""
    listed = ", ".join(supported(price))
    return StripeError(f"The price specified supports currencies of `{listed}` which doesn't include the "
                       f"expected currency of `{currency}`.", param=param)


def shown_options(price: dict) -> dict:
    """`currency_options` as Stripe shows it when expanded: the default currency's entry too
    (stripe.Price.CurrencyOptions: custom_unit_amount, tax_behavior, unit_amount,
    unit_amount_decimal; `tiers` is itself includable and left out)."""
    options = {price["currency"]: {"unit_amount": price["unit_amount"], "tax_behavior": price["tax_behavior"]},
               **(price.get("_currency_options") or {})}
    return {currency: {"custom_unit_amount": None, "tax_behavior": option["tax_behavior"],
                       "unit_amount": option["unit_amount"], "unit_amount_decimal": str(option["unit_amount"])}
            for currency, option in options.items()}
