"""Price endpoints: create (with `product` or `product_data`), retrieve, update, list.

Multi-currency prices (https://docs.stripe.com/api/prices/create#create_price-currency_options,
https://docs.stripe.com/products-prices/manage-prices): `currency_options[<cur>][unit_amount]`
on create and update. "The API response won't include currency_options by default. To
include it in the response, expand the currency_options field"; expanded, it holds the
default currency's entry too. An update "by setting the values of the parameters passed"
(https://docs.stripe.com/api/prices/update) sets the currencies it names; an option for the
default currency is refused ("You are specifying an update to a currency option that
matches the top-level currency for this price", https://github.com/stripe/stripe-node/issues/1559).
Listing by `currency` also finds prices with that currency among their options
(https://github.com/stripe/stripe-dotnet/issues/2745).
"""
from ..api import endpoint
from ..currencies import currency_code, shown_options, supports
from ..events import changed, emit, save_updated
from ..listing import PAGING, created_filter, includable, page, render
from ..wire import StripeError, boolean, choice, integer, metadata, reject_unknown, required, string, string_list
from .catalog import claim_lookup_key, get_price, get_product, new_price, new_product, recurring_params

CREATE = {"currency", "unit_amount", "product", "product_data", "recurring", "lookup_key",
          "transfer_lookup_key", "metadata", "nickname", "active", "currency_options"}
UPDATE = {"active", "metadata", "nickname", "lookup_key", "transfer_lookup_key", "currency_options"}
# stripe.params.PriceCreateParamsCurrencyOptions; the sandbox prices per unit only.
OPTION_KEYS = {"unit_amount", "tax_behavior", "custom_unit_amount", "tiers", "unit_amount_decimal"}
UNSUPPORTED_OPTION_KEYS = ("custom_unit_amount", "tiers", "unit_amount_decimal")
TAX_BEHAVIORS = ("exclusive", "inclusive", "unspecified")


@includable("price", "currency_options")
def _currency_options(sb, node) -> dict:
    return shown_options(sb.store.get(node["id"], "price") or node)


def currency_options(params, default: str, *, updating: bool = False) -> dict:
    """{currency: {unit_amount, tax_behavior}} from `currency_options[<cur>][...]`."""
    value = params.get("currency_options")
    if not isinstance(value, dict):
        raise StripeError("Invalid currency_options: must be a hash", param="currency_options")
    options = {}
    for key, entry in value.items():
        label = f"currency_options[{key}]"
        currency = currency_code(key, label)
        if not isinstance(entry, dict):
            raise StripeError(f"Invalid {label}: must be a hash", param=label)
        reject_unknown(entry, OPTION_KEYS, label)
        for name in UNSUPPORTED_OPTION_KEYS:
            if name in entry:
                raise StripeError(f"The sandbox supports {label}[unit_amount] only, not {label}[{name}].",
                                  param=f"{label}[{name}]")
        amount = integer(entry, "unit_amount", label=f"{label}[unit_amount]", minimum=0)
        if amount is None:
            raise StripeError(f"Missing required param: {label}[unit_amount].", code="parameter_missing",
                              param=f"{label}[unit_amount]")
        if currency == default and updating:
            raise StripeError("You are specifying an update to a currency option that matches the top-level "
                              "currency for this price. Please remove this currency option and update the "
                              "top-level params instead.", param=label)
        options[currency] = {"unit_amount": amount, "tax_behavior": choice(
            entry, "tax_behavior", TAX_BEHAVIORS, "unspecified", label=f"{label}[tax_behavior]")}
    return options


def _create_options(params, currency: str, unit_amount: int) -> dict:
    """Options on create; the default currency's, if given, must say what the top level says
    (sandbox choice: Stripe's behaviour for a differing one is not documented)."""
    if "currency_options" not in params:
        return {}
    options = currency_options(params, currency)
    default = options.pop(currency, None)
    if default is not None and default["unit_amount"] != unit_amount:
        raise StripeError(f"currency_options[{currency}][unit_amount] must match unit_amount for the "
                          "price's default currency.", param=f"currency_options[{currency}][unit_amount]")
    return options


def _product_for(sb, params) -> str:
    if params.get("product") and params.get("product_data"):
        raise StripeError("You may only specify one of these parameters: product, product_data.",
                          code="parameters_exclusive", param="product")
    if params.get("product"):
        return get_product(sb, params["product"], "product", 400)["id"]
    data = params.get("product_data")
    if not isinstance(data, dict):
        raise StripeError("Missing required param: product.", code="parameter_missing",
                          param="product")
    reject_unknown(data, {"name", "metadata", "active"}, "product_data")
    return new_product(sb, name=required(data, "name", "product_data[name]"),
                       meta=metadata(data), active=boolean(data, "active", True))["id"]


@endpoint("/prices", methods=["POST"])
def create(sb, params):
    reject_unknown(params, CREATE)
    currency = currency_code(required(params, "currency"), "currency")
    unit_amount = integer(params, "unit_amount", minimum=0)
    if unit_amount is None:
        raise StripeError("Missing required param: unit_amount.", code="parameter_missing",
                          param="unit_amount")
    options = _create_options(params, currency, unit_amount)
    interval, count = recurring_params(params["recurring"]) if "recurring" in params else (None, 1)
    lookup_key = string(params, "lookup_key")
    claim_lookup_key(sb, lookup_key, boolean(params, "transfer_lookup_key", False))
    price = new_price(sb, product=_product_for(sb, params), currency=currency,
                      unit_amount=unit_amount, interval=interval, interval_count=count,
                      lookup_key=lookup_key, meta=metadata(params),
                      nickname=string(params, "nickname"), active=boolean(params, "active", True),
                      currency_options=options)
    return render(sb, price, params)


@endpoint("/prices/<price_id>")
def retrieve(sb, params, price_id):
    reject_unknown(params, set())
    return render(sb, get_price(sb, price_id), params)


@endpoint("/prices/<price_id>", methods=["POST"])
def update(sb, params, price_id):
    reject_unknown(params, UPDATE)
    price = get_price(sb, price_id)
    changes = {"metadata": metadata(params, current=price["metadata"])}
    if "active" in params:
        changes["active"] = boolean(params, "active")
    if "nickname" in params:
        changes["nickname"] = string(params, "nickname") or None
    if "lookup_key" in params:
        key = string(params, "lookup_key") or None
        if key != price["lookup_key"]:
            claim_lookup_key(sb, key, boolean(params, "transfer_lookup_key", False))
        changes["lookup_key"] = key
    new = {**price, **changes}
    if "currency_options" in params:
        return render(sb, _update_options(sb, price, new, params), params)
    return render(sb, save_updated(sb, "price.updated", price, new), params)


def _update_options(sb, old: dict, new: dict, params) -> dict:
    """Set the named currency options (`currency_options=""` removes them all) and emit
    price.updated with the previous options (sandbox choice: shown as when expanded)."""
    if params["currency_options"] == "":
        new["_currency_options"] = {}
    else:
        new["_currency_options"] = {**(old.get("_currency_options") or {}),
                                    **currency_options(params, old["currency"], updating=True)}
    previous = changed(old, new)
    if new["_currency_options"] != (old.get("_currency_options") or {}):
        previous["currency_options"] = shown_options(old)
    sb.store.put(new)
    if previous:
        emit(sb, "price.updated", new, previous)
    return new


@endpoint("/prices")
def list_(sb, params):
    reject_unknown(params, PAGING | {"lookup_keys", "active", "product", "type", "currency",
                                     "created", "recurring"})
    keys, active = string_list(params, "lookup_keys"), boolean(params, "active")
    product, type_ = string(params, "product"), choice(params, "type", ("one_time", "recurring"))
    currency, in_range = string(params, "currency"), created_filter(params)
    found = [p for p in sb.store.all("price")
             if (keys is None or p["lookup_key"] in keys) and (active is None or p["active"] == active)
             and (product is None or p["product"] == product) and (type_ is None or p["type"] == type_)
             and (currency is None or supports(p, currency.lower())) and in_range(p["created"])]
    return render(sb, page(found, params, "/v1/prices"), params)
