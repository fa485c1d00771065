"""The `/v1` blueprint: authentication, parameters, idempotency and errors.

Every API view is registered with `@endpoint(rule, methods)` and written as
``view(sb, params, **url_args) -> dict``; it raises `StripeError` for anything
Stripe would refuse. The wrapper runs it inside one store transaction, so a
refused request changes nothing, and replays stored responses for a repeated
`Idempotency-Key`, as https://docs.stripe.com/api/idempotent_requests says:
Stripe "saves the status code and body of the first request made with a given
idempotency key after endpoint execution begins. Retries with the same key
return the saved response, including `500` errors"; a request whose parameters
fail validation saves nothing; keys can be pruned "after they're at least 24
hours old" (here: 24 hours of sandbox time).
"""
import functools
import hashlib
import json
import logging

from flask import Blueprint, Response, g, request

from .events import API_VERSION
from .ids import new_id
from .state import sandbox
from .wire import StripeError, parse_params

log = logging.getLogger(__name__)
bp = Blueprint("stripe_api", __name__, url_prefix="/v1")

KEY_TTL = 24 * 3600
_NO_KEY = ("You did not provide an API key. You need to provide your API key in the "
           "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")


def endpoint(rule: str, methods=("GET",)):
    """Register a view on the API blueprint behind the common request handling."""
    def register(view):
        name = f"{view.__module__.rsplit('.', 1)[-1]}_{view.__name__}"

        @functools.wraps(view)
        def wrapped(**url_args):
            return _handle(view, url_args)

        bp.add_url_rule(rule, name, wrapped, methods=list(methods))
        return view
    return register


def _handle(view, url_args) -> Response:
    request_id = new_id("req_")
    key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
    sb, scope, fingerprint = sandbox(), None, None
    try:
        api_key = _authenticate()
        pairs = list((request.form if request.method == "POST" else request.args).items(multi=True))
        if key:
            scope, fingerprint = f"{api_key}:{key}", _fingerprint(pairs)
        with sb.store.transaction():
            g.stripe_request = {"id": request_id, "idempotency_key": key}
            replay = _replay(sb, scope, fingerprint) if scope else None
            if replay is not None:
                return replay
            body = json.dumps(view(sb, parse_params(pairs), **url_args))
            if scope:
                _save(sb, scope, fingerprint, 200, body, request_id)
        return _response(body, 200, request_id, key)
    except StripeError as error:  # refused before anything was done: nothing saved under the key
        return _response(json.dumps(error.body()), error.status, request_id, key)
    except Exception:  # a sandbox bug: answer like Stripe's 500 so the SDK raises APIError
        log.exception("sandbox.api.error", extra={"request_id": request_id})
        error = StripeError("An unknown error occurred in the sandbox.", status=500, type_="api_error")
        body = json.dumps(error.body())
        if scope:  # the endpoint began executing: a retry with this key gets the same 500
            with sb.store.transaction():
                _save(sb, scope, fingerprint, 500, body, request_id)
        return _response(body, 500, request_id, key)


def _authenticate() -> str:
    """The test-mode secret key of the request, or a 401 like Stripe's."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        api_key = header[len("Bearer "):].strip()
    elif request.authorization is not None and request.authorization.type == "basic":
        api_key = request.authorization.username or ""
    else:
        api_key = ""
    if not api_key:
        raise StripeError(_NO_KEY, status=401)
    if api_key.startswith(("sk_live_", "rk_live_")):
        raise StripeError("The Stripe sandbox refuses live-mode keys; use a key starting sk_test_.",
                          status=401)
    if not api_key.startswith("sk_test_"):
        raise StripeError(f"Invalid API Key provided: {api_key[:8]}****{api_key[-4:]}", status=401)
    return api_key


def _fingerprint(pairs) -> str:
    text = json.dumps([request.method, request.path, sorted(pairs)])
    return hashlib.sha256(text.encode()).hexdigest()


def _save(sb, scope: str, fingerprint: str, status: int, body: str, request_id: str) -> None:
    now = sb.now()
    sb.store.execute("DELETE FROM idempotency WHERE created <= ?", (now - KEY_TTL,))
    sb.store.execute("INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?, ?)",
                     (scope, fingerprint, status, body, request_id, now))


def _replay(sb, scope: str, fingerprint: str):
    """The saved response for a key used in the last 24 hours of sandbox time, or None."""
    row = sb.store.execute("SELECT fingerprint, status, body, request_id, created FROM idempotency "
                           "WHERE key = ?", (scope,)).fetchone()
    if row is None or row[4] <= sb.now() - KEY_TTL:
        return None
    if row[0] != fingerprint:
        key = scope.split(":", 1)[1]
        raise StripeError(
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{key}' if you meant to execute a "
            "different request.", type_="idempotency_error")
    response = _response(row[2], row[1], row[3], scope.split(":", 1)[1])
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _response(body: str, status: int, request_id: str, key: str | None) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    response.headers["Request-Id"] = request_id
    response.headers["Stripe-Version"] = API_VERSION
    if key:
        response.headers["Idempotency-Key"] = key
    return response


@bp.app_errorhandler(404)
def _not_found(_error):
    """Unknown `/v1` paths answer like Stripe; other 404s keep Flask's page."""
    if request.path.startswith("/v1"):
        error = StripeError(f"Unrecognized request URL ({request.method}: {request.path}).", status=404)
        return _response(json.dumps(error.body()), 404, new_id("req_"), None)
    return _not_found_page()


def _not_found_page():
    return Response("Not found", status=404, mimetype="text/plain")


@bp.app_errorhandler(405)
def _bad_method(_error):
    if not request.path.startswith("/v1"):
        return Response("Method not allowed", status=405, mimetype="text/plain")
    error = StripeError(f"Unrecognized request URL ({request.method}: {request.path}).", status=404)
    return _response(json.dumps(error.body()), 404, new_id("req_"), None)
