"""Events (GET /v1/events) and webhook endpoints (/v1/webhook_endpoints)."""
from ..api import endpoint
from ..events import API_VERSION
from ..ids import new_id
from ..listing import PAGING, created_filter, page, render
from ..wire import StripeError, fetch, metadata, reject_unknown, required, string, string_list


@endpoint("/events")
def list_(sb, params):
    reject_unknown(params, PAGING | {"type", "types", "created", "delivery_success"})
    type_, types = string(params, "type"), string_list(params, "types")
    if type_ and types:
        raise StripeError("You may only specify one of these parameters: type, types.",
                          code="parameters_exclusive", param="types")
    in_range = created_filter(params)
    found = [e for e in sb.store.all("event")
             if _type_matches(e["type"], type_, types) and in_range(e["created"])]
    return render(sb, page(found, params, "/v1/events"), params)


def _type_matches(actual, type_, types) -> bool:
    """`type` may end in `.*` (Stripe allows `customer.*`)."""
    wanted = types if types is not None else ([type_] if type_ else None)
    if wanted is None:
        return True
    return any(actual == w or (w.endswith(".*") and actual.startswith(w[:-1])) for w in wanted)


@endpoint("/events/<event_id>")
def retrieve(sb, params, event_id):
    reject_unknown(params, set())
    return render(sb, fetch(sb, "event", event_id), params)


@endpoint("/webhook_endpoints", methods=["POST"])
def create_endpoint(sb, params):
    reject_unknown(params, {"url", "enabled_events", "description", "metadata", "api_version"})
    url = required(params, "url")
    if not url.startswith(("http://", "https://")):
        raise StripeError("Invalid URL: must be an http(s) URL.", param="url")
    events = string_list(params, "enabled_events")
    if not events:
        raise StripeError("Missing required param: enabled_events.", code="parameter_missing",
                          param="enabled_events")
    secret = new_id("whsec_")
    endpoint_ = {
        "id": new_id("we_"), "object": "webhook_endpoint",
        "api_version": string(params, "api_version") or API_VERSION, "application": None,
        "created": sb.now(), "description": string(params, "description"),
        "enabled_events": events, "livemode": False, "metadata": metadata(params),
        "status": "enabled", "url": url, "_secret": secret,
    }
    sb.store.put(endpoint_)
    # Stripe shows the secret only in the create response.
    return {**render(sb, endpoint_, params), "secret": secret}


def _get_endpoint(sb, endpoint_id):
    return fetch(sb, "webhook_endpoint", endpoint_id, label="webhook endpoint")


@endpoint("/webhook_endpoints/<endpoint_id>")
def retrieve_endpoint(sb, params, endpoint_id):
    reject_unknown(params, set())
    return render(sb, _get_endpoint(sb, endpoint_id), params)


@endpoint("/webhook_endpoints/<endpoint_id>", methods=["POST"])
def update_endpoint(sb, params, endpoint_id):
    reject_unknown(params, {"url", "enabled_events", "description", "metadata", "disabled"})
    found = _get_endpoint(sb, endpoint_id)
    changes = {"metadata": metadata(params, current=found["metadata"])}
    if params.get("url"):
        changes["url"] = params["url"]
    if "enabled_events" in params:
        changes["enabled_events"] = string_list(params, "enabled_events")
    if "disabled" in params:
        changes["status"] = "disabled" if params["disabled"] == "true" else "enabled"
    return render(sb, sb.store.put({**found, **changes}), params)


@endpoint("/webhook_endpoints/<endpoint_id>", methods=["DELETE"])
def delete_endpoint(sb, params, endpoint_id):
    found = _get_endpoint(sb, endpoint_id)
    sb.store.execute("DELETE FROM objects WHERE id = ?", (found["id"],))
    return {"id": found["id"], "object": "webhook_endpoint", "deleted": True}


@endpoint("/webhook_endpoints")
def list_endpoints(sb, params):
    reject_unknown(params, PAGING)
    return render(sb, page(sb.store.all("webhook_endpoint"), params, "/v1/webhook_endpoints"),
                  params)
