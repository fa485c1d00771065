"""Price endpoints: create (with `product` or `product_data`), retrieve, update, list."""
from ..api import endpoint
from ..events import save_updated
from ..listing import PAGING, created_filter, page, render
from ..wire import StripeError, boolean, choice, integer, metadata, reject_unknown, required, string, string_list
from .catalog import claim_lookup_key, get_price, get_product, new_price, new_product, recurring_params

CREATE = {"currency", "unit_amount", "product", "product_data", "recurring", "lookup_key",
          "transfer_lookup_key", "metadata", "nickname", "active"}
UPDATE = {"active", "metadata", "nickname", "lookup_key", "transfer_lookup_key"}


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
    currency = required(params, "currency")
    unit_amount = integer(params, "unit_amount", minimum=0)
    if unit_amount is None:
        raise StripeError("Missing required param: unit_amount.", code="parameter_missing",
                          param="unit_amount")
    interval, count = recurring_params(params["recurring"]) if "recurring" in params else (None, 1)
    lookup_key = string(params, "lookup_key")
    claim_lookup_key(sb, lookup_key, boolean(params, "transfer_lookup_key", False))
    price = new_price(sb, product=_product_for(sb, params), currency=currency,
                      unit_amount=unit_amount, interval=interval, interval_count=count,
                      lookup_key=lookup_key, meta=metadata(params),
                      nickname=string(params, "nickname"), active=boolean(params, "active", True))
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
    return render(sb, save_updated(sb, "price.updated", price, {**price, **changes}), params)


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
             and (currency is None or p["currency"] == currency) and in_range(p["created"])]
    return render(sb, page(found, params, "/v1/prices"), params)
