"""List objects, paging and `expand[]`, the same way for every resource.

Some fields are "includable": Stripe leaves them out of a response unless it is
asked for them with `expand[]` (a Price's `currency_options`, a Customer's
`invoice_credit_balance`, a Checkout Session's `line_items`). A resource module
registers a builder for each with `includable(object, key)`; `render` uses them
wherever the object appears (at the top level, in a list, or nested).
"""
from .wire import StripeError, integer, string, string_list

PAGING = {"limit", "starting_after", "ending_before", "expand"}
# Expansions nest at most four levels (https://docs.stripe.com/expand), counted in the path's
# parts, `data` included: Stripe refuses `data.payments.data.payment.charge` on a list of invoices
# with this message (reported in github.com/stripe/stripe-java/issues/2011).
MAX_EXPAND_DEPTH = 4
_INCLUDABLE: dict = {}


def includable(object_name: str, key: str):
    """Register `builder(sb, node) -> value` for the `key` of `object_name` objects, shown
    only when `expand[]` names it."""
    def register(builder):
        _INCLUDABLE[(object_name, key)] = builder
        return builder
    return register


def public(obj):
    """The object as Stripe shows it: private "_" bookkeeping keys removed, at every depth
    (a price copied into a subscription item keeps its private keys in the store)."""
    if isinstance(obj, dict):
        return {k: public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [public(v) for v in obj]
    return obj


def page(objects: list[dict], params: dict, url: str) -> dict:
    """A Stripe list object: newest-first `objects` cut by limit/starting_after/ending_before."""
    limit = integer(params, "limit", 10, minimum=1)
    if limit > 100:
        raise StripeError("This value must be less than or equal to 100.",
                          code="parameter_invalid_integer", param="limit")
    after, before = string(params, "starting_after"), string(params, "ending_before")
    if after and before:
        raise StripeError("You may only specify one of these parameters: ending_before, starting_after.",
                          code="parameters_exclusive", param="ending_before")
    if after:
        start = _index(objects, after, "starting_after") + 1
        window, has_more = objects[start:start + limit], start + limit < len(objects)
    elif before:
        end = _index(objects, before, "ending_before")
        start = max(0, end - limit)
        window, has_more = objects[start:end], start > 0
    else:
        window, has_more = objects[:limit], len(objects) > limit
    return {"object": "list", "data": [public(o) for o in window],
            "has_more": has_more, "url": url}


def _index(objects, obj_id, param):
    for i, obj in enumerate(objects):
        if obj["id"] == obj_id:
            return i
    raise StripeError(f"No such object: '{obj_id}'", code="resource_missing", param=param)


def created_filter(params: dict, name: str = "created"):
    """A predicate on `created` from `created=T` or `created[gte|gt|lte|lt]=T`."""
    value = params.get(name)
    if value is None:
        return lambda ts: True
    if not isinstance(value, dict):
        exact = integer(params, name)
        return lambda ts: ts == exact
    bounds = {op: integer(value, op, label=f"{name}[{op}]") for op in value}
    for op in bounds:
        if op not in ("gt", "gte", "lt", "lte"):
            raise StripeError(f"Received unknown parameter: {name}[{op}]",
                              code="parameter_unknown", param=f"{name}[{op}]")
    checks = {"gt": lambda a, b: a > b, "gte": lambda a, b: a >= b,
              "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b}
    return lambda ts: all(checks[op](ts, bound) for op, bound in bounds.items())


def expand(obj: dict, params: dict, load, virtual=None) -> dict:
    """Replace ids named by `expand[]` paths with objects.

    `load(id)` returns the stored object or None; `virtual[(object, key)]` builds
    fields that only exist when expanded (a Checkout Session's `line_items`).
    """
    for path in string_list(params, "expand") or []:
        if len(path.split(".")) > MAX_EXPAND_DEPTH:
            raise StripeError("You cannot expand more than 4 levels of a property.", param="expand")
        _expand_path(obj, path.split("."), path, load, virtual or {})
    return obj


def _expand_path(node, parts, path, load, virtual):
    key, rest = parts[0], parts[1:]
    if node.get("object") == "list" and key == "data" and rest:
        for item in node["data"]:
            _expand_path(item, rest, path, load, virtual)
        return
    builder = virtual.get((node.get("object"), key))
    if builder is not None and key not in node:  # an includable field, then any path inside it
        node[key] = builder(node)
        if not rest:
            return
    value = node.get(key)
    if isinstance(value, str):
        loaded = load(value)
        if loaded is None:
            raise StripeError(f"This property cannot be expanded ({path}).", param="expand")
        node[key] = value = public(loaded)
    if value is None and key in node:
        return
    if rest and isinstance(value, dict):
        _expand_path(value, rest, path, load, virtual)
    elif not isinstance(value, dict):
        raise StripeError(f"This property cannot be expanded ({path}).", param="expand")


def render(sb, obj: dict, params: dict, virtual=None) -> dict:
    """`obj` (or a list object) made public and expanded per `expand[]` (includable fields too)."""
    shown = obj if obj.get("object") == "list" else public(obj)
    builders = {key: (lambda node, build=build: build(sb, node)) for key, build in _INCLUDABLE.items()}
    return expand(shown, params, sb.store.get, {**builders, **(virtual or {})})
