"""Products and prices: the catalogue `membership plans sync` maintains by lookup key."""
from ..api import endpoint
from ..events import emit, save_updated
from ..ids import new_id
from ..listing import PAGING, created_filter, page, render
from ..wire import StripeError, boolean, choice, fetch, integer, metadata, reject_unknown, required, string, string_list

INTERVALS = ("day", "week", "month", "year")


def new_product(sb, *, name, description=None, meta=None, active=True, quiet=False) -> dict:
    now = sb.now()
    product = {
        "id": new_id("prod_"), "object": "product", "active": active, "created": now,
        "default_price": None, "description": description, "images": [], "livemode": False,
        "marketing_features": [], "metadata": meta or {}, "name": name,
        "package_dimensions": None, "shippable": None, "statement_descriptor": None,
        "tax_code": None, "type": "service", "unit_label": None, "updated": now, "url": None,
    }
    sb.store.put(product)
    if not quiet:
        emit(sb, "product.created", product)
    return product


def new_price(sb, *, product, currency, unit_amount, interval=None, interval_count=1,
              lookup_key=None, meta=None, nickname=None, active=True, quiet=False,
              currency_options: dict | None = None) -> dict:
    """Store a per-unit price (recurring when `interval` is given) and emit price.created.
    `currency_options`: {currency: {unit_amount, tax_behavior}} besides the default currency."""
    recurring = None
    if interval:
        recurring = {"interval": interval, "interval_count": interval_count, "meter": None,
                     "usage_type": "licensed", "trial_period_days": None}
    price = {
        "id": new_id("price_"), "object": "price", "active": active, "billing_scheme": "per_unit",
        "created": sb.now(), "currency": currency.lower(), "custom_unit_amount": None,
        "livemode": False, "lookup_key": lookup_key, "metadata": meta or {}, "nickname": nickname,
        "product": product, "recurring": recurring, "tax_behavior": "unspecified",
        "tiers_mode": None, "transform_quantity": None,
        "type": "recurring" if recurring else "one_time", "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount), "_currency_options": currency_options or {},
    }
    sb.store.put(price)
    if not quiet:
        emit(sb, "price.created", price)
    return price


def get_product(sb, product_id, param="id", status=404) -> dict:
    return fetch(sb, "product", product_id, param, status)


def get_price(sb, price_id, param="id", status=404) -> dict:
    return fetch(sb, "price", price_id, param, status)


def recurring_params(value, label="recurring") -> tuple[str, int]:
    """(interval, interval_count) from `recurring[...]` params."""
    if not isinstance(value, dict):
        raise StripeError(f"Invalid {label}: must be a hash", param=label)
    reject_unknown(value, {"interval", "interval_count"}, label)
    required(value, "interval", f"{label}[interval]")
    interval = choice(value, "interval", INTERVALS, label=f"{label}[interval]")
    return interval, integer(value, "interval_count", 1, f"{label}[interval_count]", minimum=1)


def claim_lookup_key(sb, key: str | None, transfer: bool) -> None:
    """Stripe keeps lookup keys unique: move the key with transfer, else refuse."""
    if key is None:
        return
    for holder in sb.store.all("price"):
        if holder["lookup_key"] == key:
            if not transfer:
                raise StripeError(f"A price (`{holder['id']}`) already uses that lookup key.",
                                  param="lookup_key")
            save_updated(sb, "price.updated", holder, {**holder, "lookup_key": None})


@endpoint("/products", methods=["POST"])
def create_product(sb, params):
    reject_unknown(params, {"name", "description", "metadata", "active"})
    product = new_product(sb, name=required(params, "name"), description=string(params, "description"),
                          meta=metadata(params), active=boolean(params, "active", True))
    return render(sb, product, params)


@endpoint("/products/<product_id>")
def retrieve_product(sb, params, product_id):
    reject_unknown(params, set())
    return render(sb, get_product(sb, product_id), params)


@endpoint("/products/<product_id>", methods=["POST"])
def update_product(sb, params, product_id):
    reject_unknown(params, {"name", "description", "metadata", "active"})
    product = get_product(sb, product_id)
    changes = {k: string(params, k) for k in ("name", "description") if k in params}
    if "active" in params:
        changes["active"] = boolean(params, "active")
    changes["metadata"] = metadata(params, current=product["metadata"])
    new = {**product, **changes}
    if new != product:
        new["updated"] = sb.now()
    return render(sb, save_updated(sb, "product.updated", product, new), params)


@endpoint("/products")
def list_products(sb, params):
    reject_unknown(params, PAGING | {"active", "ids", "created"})
    active, ids = boolean(params, "active"), string_list(params, "ids")
    in_range = created_filter(params)
    found = [p for p in sb.store.all("product")
             if (active is None or p["active"] == active) and (ids is None or p["id"] in ids)
             and in_range(p["created"])]
    return render(sb, page(found, params, "/v1/products"), params)
