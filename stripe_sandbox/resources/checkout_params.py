"""Parsing POST /v1/checkout/sessions: customer, line item, subscription and payment data.

https://docs.stripe.com/api/checkout/sessions/create ; every nested parameter
accepted here is one `stripe.params.checkout.SessionCreateParams` names.
- mode=subscription needs a recurring price; mode=payment only one-time prices
  ("You specified `payment` mode but passed a recurring price").
- `subscription_data[trial_period_days]` "Has to be at least 1";
  `subscription_data[trial_end]` "Has to be at least 48 hours in the future"
  (SDK docstrings).
- A deleted customer cannot pay: 400 resource_missing, as for an unknown id.
- `currency` picks one of the price's `currency_options` (a `price_data` price has only its own
  currency); one the price lacks is refused: "The price specified supports currencies of `jpy`
  which doesn't include the expected currency of `usd`."
  (https://github.com/airbadge-dev/airbadge/issues/15). Without it Stripe picks "from the
  customer's billing history or their location" (https://github.com/lukevella/rallly/pull/3307):
  here the customer's currency when the price has it, else the price's default currency.
- A customer cannot have two active subscriptions in different currencies
  (https://docs.stripe.com/invoicing/multi-currency-customers : "You can't have two active
  subscriptions with different currencies"; "you must cancel existing subscriptions before
  creating a new subscription with a new currency"). A subscription-mode session for a customer
  with a live subscription (or an open subscription-mode session) in another currency is refused
  at creation with "You cannot combine currencies on a single customer. ..."
  (https://github.com/lukevella/rallly/pull/3307). With none left, the new subscription's
  currency becomes the customer's (https://support.stripe.com/questions/setting-a-customers-default-currency).
"""
from ..currencies import currency_code, supports, unsupported
from ..wire import StripeError, choice, integer, metadata, reject_unknown, required
from .catalog import get_price, get_product, new_price, new_product, recurring_params
from .customers import get_customer
from .subscriptions import LIVE

SUBSCRIPTION_DATA = {"metadata", "description", "trial_period_days", "trial_end", "trial_settings"}
END_BEHAVIORS = ("cancel", "create_invoice", "pause")
PAYMENT_INTENT_DATA = {"metadata", "description"}
LINE_ITEM = {"price", "price_data", "quantity"}
PRICE_DATA = {"currency", "unit_amount", "product", "product_data", "recurring"}
PRODUCT_DATA = {"name", "description", "metadata"}
DAY = 86400


def customer_param(sb, params) -> str | None:
    if params.get("customer") and params.get("customer_email"):
        raise StripeError("You may only specify one of these parameters: customer, customer_email.",
                          code="parameters_exclusive", param="customer_email")
    if params.get("customer"):
        return get_customer(sb, params["customer"], "customer", 400)["id"]
    return None


def expires_at(params, now) -> int:
    when = integer(params, "expires_at")
    if when is None:
        return now + DAY
    if not now + 1800 <= when <= now + DAY:
        raise StripeError("The `expires_at` timestamp must be between 30 minutes and 24 hours "
                          "from Checkout Session creation.", param="expires_at")
    return when


def _hash(params, name: str, allowed) -> dict:
    data = params.get(name) or {}
    if not isinstance(data, dict):
        raise StripeError(f"Invalid {name}: must be a hash", param=name)
    reject_unknown(data, allowed, name)
    return data


def subscription_data(params, mode: str, now: int) -> dict:
    """{"metadata", "trial_end"} for the subscription the session will create."""
    data = _hash(params, "subscription_data", SUBSCRIPTION_DATA)
    if data and mode != "subscription":
        raise StripeError("You can only specify `subscription_data` in `subscription` mode.",
                          param="subscription_data")
    days = integer(data, "trial_period_days", label="subscription_data[trial_period_days]", minimum=1)
    trial_end = integer(data, "trial_end", label="subscription_data[trial_end]")
    if days is not None and trial_end is not None:
        raise StripeError("You may only specify one of these parameters: subscription_data[trial_end], "
                          "subscription_data[trial_period_days].", code="parameters_exclusive",
                          param="subscription_data[trial_end]")
    if trial_end is not None and trial_end < now + 2 * DAY:
        raise StripeError("`subscription_data[trial_end]` has to be at least 48 hours in the future.",
                          param="subscription_data[trial_end]")
    return {"metadata": metadata(data), "trial_days": days, "trial_end": trial_end,
            "missing_payment_method": _missing_payment_method(data)}


def _missing_payment_method(data) -> str:
    """`subscription_data[trial_settings][end_behavior][missing_payment_method]`."""
    label = "subscription_data[trial_settings]"
    settings = _hash(data, "trial_settings", {"end_behavior"}) if "trial_settings" in data else {}
    end = settings.get("end_behavior") or {}
    if not isinstance(end, dict):
        raise StripeError(f"Invalid {label}[end_behavior]: must be a hash", param=f"{label}[end_behavior]")
    reject_unknown(end, {"missing_payment_method"}, f"{label}[end_behavior]")
    return choice(end, "missing_payment_method", END_BEHAVIORS, "create_invoice",
                  label=f"{label}[end_behavior][missing_payment_method]")


def payment_intent_data(params, mode: str) -> dict:
    data = _hash(params, "payment_intent_data", PAYMENT_INTENT_DATA)
    if data and mode != "payment":
        raise StripeError("You can only specify `payment_intent_data` in `payment` mode.",
                          param="payment_intent_data")
    return {"metadata": metadata(data), "description": data.get("description")}


def line_item(sb, items, mode: str):
    """(price, quantity) for the one line item a membership or gift checkout has."""
    if not items:
        raise StripeError("Missing required param: line_items.", code="parameter_missing",
                          param="line_items")
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        raise StripeError("The sandbox supports exactly one line item.", param="line_items")
    item = items[0]
    reject_unknown(item, LINE_ITEM, "line_items[0]")
    quantity = integer(item, "quantity", 1, "line_items[0][quantity]", minimum=1)
    if item.get("price"):
        price = get_price(sb, item["price"], "line_items[0][price]", 400)
    elif isinstance(item.get("price_data"), dict):
        price = _inline_price(sb, item["price_data"])
    else:
        raise StripeError("Missing required param: line_items[0][price].",
                          code="parameter_missing", param="line_items[0][price]")
    _check_mode(price, mode)
    return price, quantity


def _check_mode(price, mode) -> None:
    if mode == "subscription" and price["type"] != "recurring":
        raise StripeError("You must specify at least one recurring price in `subscription` mode "
                          "when using prices.", param="line_items[0][price]")
    if mode == "payment" and price["type"] == "recurring":
        raise StripeError("You specified `payment` mode but passed a recurring price. Either switch to "
                          "`subscription` mode or use only one-time prices.", param="line_items[0][price]")


def _inline_price(sb, data: dict) -> dict:
    label = "line_items[0][price_data]"
    reject_unknown(data, PRICE_DATA, label)
    currency = currency_code(required(data, "currency", f"{label}[currency]"), f"{label}[currency]")
    amount = integer(data, "unit_amount", label=f"{label}[unit_amount]", minimum=0)
    if amount is None:
        raise StripeError(f"Missing required param: {label}[unit_amount].",
                          code="parameter_missing", param=f"{label}[unit_amount]")
    if data.get("product"):
        product = get_product(sb, data["product"], f"{label}[product]", 400)["id"]
    else:
        names = data.get("product_data") if isinstance(data.get("product_data"), dict) else {}
        reject_unknown(names, PRODUCT_DATA, f"{label}[product_data]")
        name = required(names, "name", f"{label}[product_data][name]")
        product = new_product(sb, name=name, meta=metadata(names), quiet=True)["id"]
    interval, count = (recurring_params(data["recurring"], f"{label}[recurring]")
                       if "recurring" in data else (None, 1))
    # Inline prices are created archived, so they never show up in price lists.
    return new_price(sb, product=product, currency=currency, unit_amount=amount,
                     interval=interval, interval_count=count, active=False, quiet=True)


def session_currency(sb, params, price: dict, customer_id: str | None) -> str:
    """The currency the session charges in (see the module docstring)."""
    if params.get("currency") is not None:
        currency = currency_code(params["currency"], "currency")
        if not supports(price, currency):
            raise unsupported(price, currency)
        return currency
    customer = sb.store.get(customer_id, "customer") if customer_id else None
    if customer and customer["currency"] and supports(price, customer["currency"]):
        return customer["currency"]
    return price["currency"]


def refuse_mixed_currencies(sb, customer_id: str | None, currency: str) -> None:
    """A subscription in `currency` next to the customer's live ones in another currency."""
    if customer_id is None:
        return
    held = {sub["currency"] for sub in sb.store.all("subscription", customer_id) if sub["status"] in LIVE}
    now = sb.now_for(customer_id)
    held |= {s["currency"] for s in sb.store.all("checkout.session", customer_id)
             if s["status"] == "open" and s["expires_at"] > now and s["mode"] == "subscription"}
    other = sorted(held - {currency})
    if other:
        raise StripeError("You cannot combine currencies on a single customer. This customer has an active "
                          "subscription, subscription schedule, discount, quote, invoice item or active "
                          f"subscription mode checkout session with currency {other[0]}.")
