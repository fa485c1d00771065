"""Billing through Stripe's API, with the official SDK. The only place `stripe` is imported
(with stripe_webhooks.py).

The same code talks to Stripe and to the local sandbox: `STRIPE_API_BASE` only
changes the address. Every method returns Stripe's objects as plain dicts (the
shapes of the pinned API version), so domain code never sees an SDK type, and
raises only the service's own `BillingError` family, never a `stripe` exception.

Every POST carries an idempotency key built from our own ids (`idempotency_key`),
so a retried request can never create a second customer, checkout or cancellation.

Rate limits (https://docs.stripe.com/rate-limits: 100 reads and 100 writes a second per
account in live mode, 25 in a sandbox). Reads are spread by a token bucket that every
thread of the process shares (`STRIPE_READS_PER_SECOND`), as Stripe advises ("something
like a token bucket rate limiting algorithm on the client side"). A 429 is retried after
the `Retry-After` it names (or a backoff), and the bucket holds every thread of the process
for that long: the pinned SDK retries a 429 only when Stripe adds `Stripe-Should-Retry: true`,
and then after its own backoff, never `Retry-After` (stripe/_http_client.py,
`_should_retry`, `_sleep_time_seconds`). A 429 left after the retries raises
`BillingUnavailable`, which the webhook inbox records and retries later.
"""
from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import quote

import stripe

from service.errors import BillingError, BillingNotFound, BillingUnavailable, PaymentDeclined

if TYPE_CHECKING:
    from stripe.params import (
        CustomerCreateParams,
        CustomerUpdateParams,
        EventListParams,
        PriceCreateParams,
        PriceUpdateParams,
        SubscriptionListParams,
        SubscriptionScheduleUpdateParams,
        SubscriptionUpdateParams,
    )
    from stripe.params.billing_portal import SessionCreateParams as PortalSessionCreateParams
    from stripe.params.checkout import SessionCreateParams, SessionCreateParamsLineItem

# The API version the pinned SDK (stripe==16.1.0) ships with. Pinning both means
# an SDK upgrade that changes object shapes cannot slip in unnoticed.
STRIPE_API_VERSION = "2026-10-28.endive"
if stripe.api_version != STRIPE_API_VERSION:  # pragma: no cover - guards an unreviewed upgrade
    raise RuntimeError(f"stripe SDK speaks {stripe.api_version}, the service is pinned to {STRIPE_API_VERSION}")

Obj = dict[str, Any]
INVOICE_EXPANSIONS = ("parent.subscription_details.subscription", "payments")


def _plain(obj: Any) -> Obj:
    """A StripeObject as JSON-safe dicts: decimals (the `*_decimal` fields) become strings,
    as they are on the wire, so objects can be stored and compared as Stripe sent them."""
    return _json_safe(obj.to_dict())


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def idempotency_key(*parts: object) -> str:
    """A key from our own ids, e.g. idempotency_key("member", 42, "customer")."""
    return "membership-" + "-".join(str(p) for p in parts)


@contextmanager
def _translated() -> Iterator[None]:
    """Turn the SDK's exceptions into the service's own, with a message a person can act on."""
    try:
        yield
    except stripe.CardError as exc:
        raise PaymentDeclined(exc.user_message or "The card was declined.", code=exc.code or "card_declined") from None
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            raise BillingNotFound(f"Stripe has no such object: {exc.user_message}") from None
        where = f" (parameter {exc.param})" if exc.param else ""
        raise BillingError(f"Stripe refused the request{where}: {exc.user_message}", code=exc.code or "invalid_request") from None
    except stripe.IdempotencyError as exc:
        raise BillingError(f"Stripe saw this request before with other details: {exc.user_message}",
                           code="idempotency_conflict") from None
    except (stripe.AuthenticationError, stripe.PermissionError):
        raise BillingError("Stripe refused our API key; check STRIPE_SECRET_KEY.", code="billing_auth") from None
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        raise BillingUnavailable(f"Stripe is unavailable right now ({type(exc).__name__}); try again shortly.") from None
    except stripe.StripeError as exc:
        raise BillingError(f"Stripe error: {exc.user_message or type(exc).__name__}") from None


# --- rate limits ----------------------------------------------------------------


class TokenBucket:
    """At most `rate` takes a second on average and `burst` at once, for every thread that shares
    it; `hold` makes every taker wait until a time (a 429's Retry-After), after which the bucket
    starts empty. A rate of 0 or less spaces nothing (but still holds). `clock` and `sleep` are
    injectable for tests."""

    def __init__(self, rate: float, burst: float | None = None, *,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.rate = rate
        self.burst = max(burst if burst is not None else rate, 1.0)
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        # Tokens as of `_stamp`; no refill before it (a hold puts it in the future).
        self._tokens, self._stamp = self.burst, clock()

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * max(self.rate, 0.0))
            self._stamp = now

    def take(self) -> float:
        """Wait for a token and spend it; returns the seconds waited. Each taker reserves its
        token under the lock (the balance may go below zero) and sleeps outside it, so takers
        leave in order, spaced 1/rate apart."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            wait = self._stamp - now
            if self.rate > 0:
                self._tokens -= 1
                wait += max(-self._tokens, 0.0) / self.rate
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def hold(self, seconds: float) -> None:
        """No take returns before `seconds` from now, and the bucket is empty then (several
        holds to the same time add nothing; takers already waiting keep their order)."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            if now + seconds > self._stamp:
                self._tokens, self._stamp = min(self._tokens, 0.0), now + seconds


def retry_after(headers: Mapping[str, str] | None, now: datetime | None = None) -> float | None:
    """Seconds a response's `Retry-After` asks to wait (delay-seconds or an HTTP date,
    RFC 9110 section 10.2.3), or None when it names none we can read."""
    value = (headers or {}).get("retry-after") or (headers or {}).get("Retry-After")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


class RateLimitedClient(stripe.RequestsClient):
    """The SDK's requests client with Stripe's rate limits respected: every GET takes a token
    from `reads` first (retries included: each attempt counts against the limit), and a 429 is
    sent again, up to `retries` times, after its Retry-After (else a jittered backoff, as the
    SDK's), unless Stripe says `Stripe-Should-Retry: false` or asks for longer than `max_wait`
    (then the 429 goes back to the SDK, which raises RateLimitError; the bucket still holds
    this process's reads, for up to `max_wait`). The SDK's own retries (connection errors, 409,
    5xx) sit on top and go through here too."""

    def __init__(self, reads: TokenBucket, *, retries: int, max_wait: float = 10.0, timeout: float = 20.0,
                 sleep: Callable[[float], None] = time.sleep):
        super().__init__(timeout=timeout)
        self.reads, self.retries, self.max_wait, self._sleep = reads, retries, max_wait, sleep

    # The signature of RequestsClient.request, which the SDK narrows from HTTPClient's.
    def request(self, method: str, url: str, headers: Mapping[str, str] | None,  # type: ignore[override]
                post_data: Any = None) -> tuple[bytes, int, Mapping[str, str]]:
        read = method.lower() == "get"
        attempt = 0
        while True:
            if read:
                self.reads.take()
            content, status, rheaders = super().request(method, url, headers, post_data)
            if status != 429 or attempt >= self.retries or (rheaders or {}).get("stripe-should-retry") == "false":
                return content, status, rheaders
            attempt += 1
            asked = retry_after(rheaders)
            wait = asked if asked is not None else min(0.5 * 2 ** (attempt - 1), 5.0) * random.uniform(0.5, 1.0)
            if read:  # this process's other reads wait too, at most as long as this one would
                self.reads.hold(min(wait, self.max_wait))
            if wait > self.max_wait:
                return content, status, rheaders
            if not read:
                self._sleep(wait)


# --- the gateway ---------------------------------------------------------------


class StripeGateway:
    """The billing gateway. One instance per app; safe to share between threads.

    `reads_per_second` feeds the token bucket this instance's threads share (0: unlimited)."""

    def __init__(self, api_key: str, *, api_base: str = "", max_network_retries: int = 3, timeout: float = 20.0,
                 reads_per_second: float = 0.0, max_retry_wait: float = 10.0):
        addresses: dict[str, str] = {"api": api_base.rstrip("/")} if api_base else {}
        self.livemode = api_key.startswith(("sk_live_", "rk_live_"))
        # A burst of a tenth of a second's reads: a request's few reads go at once, and a process
        # that has been idle makes no more than 1.1 x its rate in any second.
        self.reads = TokenBucket(reads_per_second, max(reads_per_second / 10, 1.0))
        self._client = stripe.StripeClient(
            api_key,
            stripe_version=STRIPE_API_VERSION,
            base_addresses=addresses,  # type: ignore[arg-type]
            # The SDK retries connection errors, 409s and 5xx with backoff (a 429 only when Stripe
            # adds Stripe-Should-Retry: true), reusing the request's idempotency key; the client
            # below retries 429s after their Retry-After.
            max_network_retries=max_network_retries,
            http_client=RateLimitedClient(self.reads, retries=max_network_retries, max_wait=max_retry_wait,
                                          timeout=timeout),
        )
        self._v1 = self._client.v1

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> StripeGateway:
        return cls(config["STRIPE_SECRET_KEY"], api_base=config.get("STRIPE_API_BASE", ""),
                   reads_per_second=config.get("STRIPE_READS_PER_SECOND", 0.0))

    @staticmethod
    def _opts(key: str) -> stripe.RequestOptions:
        return {"idempotency_key": key}

    def _read(self, path: str, *ids: str, expand: tuple[str, ...] = ()) -> Obj:
        """GET one object as the plain dict Stripe sent, through the SDK's `raw_request`: the same
        requestor, API version, retries and rate limits as every other call, and the same errors
        (raised from the status and body), without building the SDK's object tree that `_plain`
        would take apart again (about half the CPU of a read; bench/RESULTS.md). Ids are
        quoted into the path, as the SDK's own services do."""
        if any(i in ("", ".", "..") for i in ids):  # would read the list, or another path
            raise BillingNotFound(f"Stripe has no object with the id {ids!r}.")
        url = path.format(*(quote(i, safe="") for i in ids))
        params: dict[str, Any] = {"expand": list(expand)} if expand else {}
        with _translated():
            found = self._client.raw_request("get", url, **params).data
        if not isinstance(found, dict):  # pragma: no cover - Stripe answers a retrieve with an object
            raise BillingError(f"Stripe answered {url} with something other than an object.")
        return found

    # --- customers ----------------------------------------------------------

    def create_customer(self, *, member_id: int, email: str, name: str, replaces: str | None = None) -> Obj:
        """Create the member's one Stripe customer (keyed by member id and email, so never twice;
        the email part keeps a reused id in a fresh database from colliding with an old key).

        `replaces` names a deleted customer this one stands in for: it is part of the key, since
        Stripe replays a key's first result for 24 hours, and that would be the deleted customer.
        """
        params: CustomerCreateParams = {"email": email, "name": name, "metadata": {"member_id": str(member_id)}}
        digest = hashlib.sha256(email.encode()).hexdigest()[:16]
        key = idempotency_key("member", member_id, digest, "customer", *([f"replaces-{replaces}"] if replaces else []))
        with _translated():
            return _plain(self._v1.customers.create(params, self._opts(key)))

    def ensure_customer(self, *, member_id: int, email: str, name: str, customer_id: str | None) -> Obj:
        """The member's existing customer, or a new one if they have none (or it was deleted)."""
        if customer_id:
            try:
                customer = self.retrieve_customer(customer_id)
                if not customer.get("deleted"):
                    return customer
            except BillingNotFound:
                pass
        return self.create_customer(member_id=member_id, email=email, name=name, replaces=customer_id)

    def retrieve_customer(self, customer_id: str) -> Obj:
        return self._read("/v1/customers/{}", customer_id)

    def update_customer(self, customer_id: str, *, key: str, email: str | None = None, name: str | None = None) -> Obj:
        """Change the customer's email or name; `key` names this change (e.g. an audit entry id)."""
        params = cast("CustomerUpdateParams", {k: v for k, v in (("email", email), ("name", name)) if v is not None})
        with _translated():
            return _plain(self._v1.customers.update(customer_id, params, self._opts(idempotency_key("customer", customer_id, key))))

    def credit_balance(self, customer_id: str, *, amount: int, currency: str, description: str, key: str,
                       metadata: dict[str, str] | None = None) -> Obj:
        """Credit `amount` (minor units, positive) to the customer's balance, which Stripe applies to
        their next invoices before charging them (https://docs.stripe.com/billing/customer/balance).
        A credit is a negative balance transaction. Cannot credit twice: `key` names the credit, so a
        retry replays the first one."""
        if amount <= 0:
            raise ValueError("a credit must be a positive amount")
        with _translated():
            return _plain(self._v1.customers.balance_transactions.create(
                customer_id, {"amount": -amount, "currency": currency, "description": description,
                              "metadata": metadata or {}}, self._opts(idempotency_key("credit", key))))

    def find_balance_credit(self, customer_id: str, *, metadata_key: str, value: str) -> Obj | None:
        """The customer's balance transaction whose metadata has `metadata_key` = `value`, newest first; None if none."""
        with _translated():
            for txn in self._v1.customers.balance_transactions.list(customer_id, {"limit": 100}).auto_paging_iter():
                found = _plain(txn)
                if (found.get("metadata") or {}).get(metadata_key) == value:
                    return found
        return None

    def debit_balance(self, customer_id: str, *, amount: int, currency: str, description: str, key: str) -> Obj:
        """Take back `amount` of credit from the customer's balance (a positive balance transaction). Once per `key`."""
        if amount <= 0:
            raise ValueError("a debit must be a positive amount")
        with _translated():
            return _plain(self._v1.customers.balance_transactions.create(
                customer_id, {"amount": amount, "currency": currency, "description": description},
                self._opts(idempotency_key("debit", key))))

    # --- catalog ------------------------------------------------------------

    def find_price(self, lookup_key: str) -> Obj | None:
        """The active price with this lookup key (its currency_options included), or None."""
        with _translated():
            found = self._v1.prices.list({"lookup_keys": [lookup_key], "active": True, "limit": 1,
                                          "expand": ["data.currency_options"]})
        return _plain(found.data[0]) if found.data else None

    def ensure_price(self, *, lookup_key: str, product_name: str, amount: int, currency: str, interval: str,
                     currency_options: dict[str, int] | None = None) -> Obj:
        """Find the price by lookup key, or create its product and price; `currency_options` are its
        amounts in other currencies ({"eur": 500}), added to an existing price when it lacks them or
        has other amounts (Stripe lets a price's currency_options change; its own amount never does).
        Safe to run again."""
        options = {cur: {"unit_amount": value} for cur, value in sorted((currency_options or {}).items()) if cur != currency}
        existing = self.find_price(lookup_key)
        if existing is not None:
            have = {cur: {"unit_amount": opt.get("unit_amount")}
                    for cur, opt in (existing.get("currency_options") or {}).items() if cur != currency}
            if not options or all(have.get(cur) == opt for cur, opt in options.items()):
                return existing
            key = idempotency_key("price-options", existing["id"], *(f"{c}{o['unit_amount']}" for c, o in options.items()))
            with _translated():
                updated = self._v1.prices.update(existing["id"], cast("PriceUpdateParams", {
                    "currency_options": options, "expand": ["currency_options"]}), self._opts(key))
            return _plain(updated)
        key = idempotency_key("price", lookup_key, amount, currency, interval, *(f"{c}{o['unit_amount']}" for c, o in options.items()))
        params: dict[str, Any] = {"unit_amount": amount, "currency": currency, "recurring": {"interval": interval},
                                  "lookup_key": lookup_key, "transfer_lookup_key": True}
        if options:
            params.update(currency_options=options, expand=["currency_options"])
        with _translated():
            product = self._v1.products.create(
                {"name": product_name, "metadata": {"lookup_key": lookup_key}}, self._opts(key + "-product"))
            price = self._v1.prices.create(cast("PriceCreateParams", {"product": product.id, **params}), self._opts(key))
        return _plain(price)

    # --- checkout -----------------------------------------------------------

    def create_checkout_session(self, *, member_id: int, customer_id: str, line_item: Obj, success_url: str,
                                cancel_url: str, key: str, metadata: dict[str, str] | None = None,
                                locale: str | None = None, currency: str | None = None) -> Obj:
        """A subscription Checkout Session for the member's customer.

        `line_item` is {"price": id} or {"price_data": {...}} (pay what you want);
        `success_url` should carry {CHECKOUT_SESSION_ID}; `key` names the attempt; `metadata`
        (attribution) goes on the session and on the subscription, so every renewal carries it;
        `locale` is the language Stripe shows the page in (one Stripe offers, or "auto"); `currency`
        the one the reader chose, which a Price takes from its currency_options
        (https://docs.stripe.com/api/checkout/sessions/create, `currency`; https://docs.stripe.com/api/prices/create,
        `currency_options`).
        """
        meta = {"member_id": str(member_id), **(metadata or {})}
        params: SessionCreateParams = {
            "mode": "subscription",
            "customer": customer_id,
            "client_reference_id": str(member_id),
            "metadata": meta,
            "subscription_data": {"metadata": meta},
            "line_items": [cast("SessionCreateParamsLineItem", {**line_item, "quantity": 1})],
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if locale:
            params["locale"] = locale
        if currency:
            params["currency"] = currency
        with _translated():
            return _plain(self._v1.checkout.sessions.create(params, self._opts(idempotency_key("checkout", key))))

    def create_payment_checkout_session(self, *, member_id: int, customer_id: str, amount: int, currency: str,
                                        product_name: str, metadata: dict[str, str], success_url: str,
                                        cancel_url: str, key: str, locale: str | None = None) -> Obj:
        """A one-time (mode=payment) Checkout Session for the member's customer: a gift.

        `metadata` goes on the session and on its PaymentIntent, so the charge, a refund and a
        dispute all say what the payment was; `key` names the attempt; `locale` as for a subscription.
        """
        meta = {"member_id": str(member_id), **metadata}
        params: SessionCreateParams = {
            "mode": "payment",
            "customer": customer_id,
            "client_reference_id": str(member_id),
            "metadata": meta,
            "payment_intent_data": {"metadata": meta, "description": product_name},
            "line_items": [{"price_data": {"currency": currency, "unit_amount": amount,
                                           "product_data": {"name": product_name}}, "quantity": 1}],
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if locale:
            params["locale"] = locale
        with _translated():
            return _plain(self._v1.checkout.sessions.create(params, self._opts(idempotency_key("checkout", key))))

    def retrieve_checkout_session(self, session_id: str) -> Obj:
        return self._read("/v1/checkout/sessions/{}", session_id)

    def list_checkout_sessions(self, *, customer: str, status: Literal["complete", "expired", "open"] = "complete"
                               ) -> Iterator[Obj]:
        """The customer's Checkout Sessions in a status (newest first), page by page."""
        with _translated():
            for session in self._v1.checkout.sessions.list(
                    {"customer": customer, "status": status, "limit": 100}).auto_paging_iter():
                yield _plain(session)

    def expire_checkout_session(self, session_id: str) -> Obj:
        with _translated():
            return _plain(self._v1.checkout.sessions.expire(session_id, None, self._opts(idempotency_key("expire", session_id))))

    # --- subscriptions and invoices -----------------------------------------

    def retrieve_subscription(self, subscription_id: str) -> Obj:
        return self._read("/v1/subscriptions/{}", subscription_id)

    def list_subscriptions(self, *, customer: str | None = None, status: str = "all") -> Iterator[Obj]:
        """Every subscription (of one customer, or of the account), page by page."""
        params: SubscriptionListParams = {"status": status, "limit": 100}
        if customer:
            params["customer"] = customer
        with _translated():
            for sub in self._v1.subscriptions.list(params).auto_paging_iter():
                yield _plain(sub)

    def set_cancel_at_period_end(self, subscription_id: str, cancel: bool, *, key: str) -> Obj:
        """Cancel at the end of the paid period (True), or undo that (False)."""
        with _translated():
            return _plain(self._v1.subscriptions.update(
                subscription_id, {"cancel_at_period_end": cancel},
                self._opts(idempotency_key("sub", subscription_id, "cancel-at-period-end", cancel, key))))

    def clear_cancel_at(self, subscription_id: str, *, key: str) -> Obj:
        """Undo a cancellation scheduled for a date (`cancel_at`): the subscription renews again."""
        with _translated():
            return _plain(self._v1.subscriptions.update(
                subscription_id, {"cancel_at": ""},
                self._opts(idempotency_key("sub", subscription_id, "clear-cancel-at", key))))

    def cancel_subscription_now(self, subscription_id: str, *, key: str) -> Obj:
        with _translated():
            return _plain(self._v1.subscriptions.cancel(
                subscription_id, None, self._opts(idempotency_key("sub", subscription_id, "cancel-now", key))))

    # --- plan changes (the account page and the cancel flow's offers) ---------

    def pause_collection(self, subscription_id: str, *, resumes_at: int, key: str) -> Obj:
        """Charge nothing until `resumes_at` (unix time); the subscription stays `active`, so access
        continues. Behaviour `void`: Stripe's choice to "temporarily offer services for free" (invoices
        made while paused are voided, never collected later), unlike `keep_as_draft` (collected
        later) or `mark_uncollectible` (https://docs.stripe.com/billing/subscriptions/pause-payment)."""
        with _translated():
            return _plain(self._v1.subscriptions.update(
                subscription_id, {"pause_collection": {"behavior": "void", "resumes_at": resumes_at}},
                self._opts(idempotency_key("sub", subscription_id, "pause", resumes_at, key))))

    def change_price(self, subscription_id: str, *, item_id: str, line: Obj,
                     proration_behavior: Literal["create_prorations", "always_invoice", "none"], key: str) -> Obj:
        """Move the subscription's item to `line` ({"price": id} or {"price_data": {...}}), prorated as
        `proration_behavior` says (https://docs.stripe.com/billing/subscriptions/change-price). `key`
        names this one change (a new key per attempt), so the SDK's retry replays it and never
        invoices twice.

        Sent with `payment_behavior=error_if_incomplete`: when the change invoices at once and the
        invoice cannot be paid, Stripe answers 402 and "does not update the subscription"
        (https://docs.stripe.com/api/subscriptions/update#update_subscription-payment_behavior),
        raised here as PaymentDeclined. Stripe's default (`allow_incomplete`) would apply the new
        price and leave the subscription past_due. (`pending_if_incomplete` would leave an open
        invoice that can still be paid, and the change applied, up to 23 hours later:
        https://docs.stripe.com/billing/subscriptions/pending-updates-reference.)"""
        with _translated():
            return _plain(self._v1.subscriptions.update(
                subscription_id, cast("SubscriptionUpdateParams", {
                    "items": [{"id": item_id, **line}], "proration_behavior": proration_behavior,
                    "payment_behavior": "error_if_incomplete"}),
                self._opts(idempotency_key("sub", subscription_id, "price", key))))

    def pending_invoice_items(self, customer_id: str) -> list[Obj]:
        """Invoice items not yet on an invoice (prorations): the next invoice adds them."""
        with _translated():
            return [_plain(item) for item in self._v1.invoice_items.list(
                {"customer": customer_id, "pending": True, "limit": 100}).auto_paging_iter()]

    def change_price_at_renewal(self, subscription: Obj, *, price_id: str, key: str) -> Obj:
        """From the end of the current period, bill `price_id` instead (a subscription schedule: the
        current phase as it is, then the new price for a period, then released to run on;
        https://docs.stripe.com/billing/subscriptions/subscription-schedules). Returns the schedule."""
        item = subscription["items"]["data"][0]
        with _translated():
            schedule_id = subscription.get("schedule") or self._v1.subscription_schedules.create(
                {"from_subscription": subscription["id"]},
                self._opts(idempotency_key("schedule", subscription["id"], key))).id
            return _plain(self._v1.subscription_schedules.update(schedule_id, cast("SubscriptionScheduleUpdateParams", {
                "end_behavior": "release", "phases": [
                {"items": [{"price": item["price"]["id"], "quantity": item.get("quantity") or 1}],
                 "start_date": item["current_period_start"], "end_date": item["current_period_end"]},
                {"items": [{"price": price_id, "quantity": 1}], "iterations": 1, "proration_behavior": "none"},
            ]}), self._opts(idempotency_key("schedule", schedule_id, "phases", price_id, key))))

    def release_schedule(self, schedule_id: str, *, key: str) -> Obj:
        """Detach the subscription from its schedule; it runs on as it is now, without the planned
        phases (https://docs.stripe.com/api/subscription_schedules/release). Stripe refuses to change
        `cancel_at_period_end` or `cancel_at` on a subscription a schedule manages, so this comes
        first. Returns the released schedule."""
        with _translated():
            return _plain(self._v1.subscription_schedules.release(
                schedule_id, None, self._opts(idempotency_key("schedule", schedule_id, "release", key))))

    def retrieve_invoice(self, invoice_id: str) -> Obj:
        return self._read("/v1/invoices/{}", invoice_id)

    def retrieve_invoice_in_full(self, invoice_id: str) -> Obj:
        """The invoice with what applying its events needs, in one read: its subscription
        (`parent.subscription_details.subscription`, expandable) and its `payments`, "an includable
        payments property containing the first handful" (https://docs.stripe.com/api/invoice-payment/list;
        `has_more` says when there are others). Expansions nest at most four levels
        (https://docs.stripe.com/expand), so a payment's PaymentIntent with its charge's balance
        transaction takes a read of its own (`payment_details`)."""
        return self._read("/v1/invoices/{}", invoice_id, expand=INVOICE_EXPANSIONS)

    def list_invoices(self, *, customer: str) -> Iterator[Obj]:
        with _translated():
            for invoice in self._v1.invoices.list({"customer": customer, "limit": 100}).auto_paging_iter():
                yield _plain(invoice)

    def _invoice_intents(self, invoice_id: str, status: Literal["open", "paid"]) -> Iterator[stripe.PaymentIntent]:
        """The PaymentIntents behind an invoice's payments in a status, each with its latest charge
        (an invoice names them in its invoice payments since API 2025-03-31)."""
        for payment in self._v1.invoice_payments.list({"invoice": invoice_id, "status": status}).auto_paging_iter():
            intent_id = payment.payment.payment_intent
            if isinstance(intent_id, str):
                yield self._v1.payment_intents.retrieve(intent_id, {"expand": ["latest_charge"]})

    def payment_details(self, intent_id: str) -> Obj:
        """What Stripe says about a payment: its PaymentIntent and charge ids, and the fee, net and
        exchange rate of the charge's balance transaction (empty while a bank debit settles)."""
        with _translated():
            intent = self._v1.payment_intents.retrieve(intent_id, {"expand": ["latest_charge.balance_transaction"]})
        charge = intent.latest_charge
        txn = getattr(charge, "balance_transaction", None) if charge is not None and not isinstance(charge, str) else None
        details: Obj = {"payment_intent": intent.id, "status": intent.status,
                        "charge": charge if isinstance(charge, str) or charge is None else charge.id}
        if txn is not None and not isinstance(txn, str):
            details.update(fee=txn.fee, net=txn.net, settlement_currency=txn.currency,
                           exchange_rate=None if txn.exchange_rate is None else str(txn.exchange_rate))
        return details

    def invoice_payment_intent(self, invoice_id: str) -> str | None:
        """The PaymentIntent that paid an invoice (from its invoice payments), or None."""
        with _translated():
            for payment in self._v1.invoice_payments.list({"invoice": invoice_id, "status": "paid"}).auto_paging_iter():
                if isinstance(payment.payment.payment_intent, str):
                    return payment.payment.payment_intent
        return None

    def invoice_for_payment_intent(self, intent_id: str) -> str | None:
        """The invoice a PaymentIntent paid, if any (a refund names only the payment)."""
        with _translated():
            found = self._v1.invoice_payments.list({"payment": {"type": "payment_intent", "payment_intent": intent_id},
                                                    "limit": 1})
        return found.data[0].invoice if found.data and isinstance(found.data[0].invoice, str) else None

    def invoice_awaits_authentication(self, invoice_id: str) -> bool:
        """Whether the invoice's open payment waits for the cardholder to authenticate it
        (its PaymentIntent is `requires_action`), rather than having been declined."""
        with _translated():
            return any(intent.status == "requires_action" for intent in self._invoice_intents(invoice_id, "open"))

    def refund_invoice(self, invoice_id: str) -> list[Obj]:
        """Refund whatever was paid on an invoice, through the PaymentIntents that paid it.

        Cannot refund twice: each refund's idempotency key is the intent it refunds, so a
        retry replays the first refund, and after the key expires Stripe itself refuses
        to refund more than was paid (an intent whose charge is refunded is skipped).
        """
        with _translated():
            return [_plain(self._v1.refunds.create({"payment_intent": intent.id, "reason": "duplicate"},
                                                   self._opts(idempotency_key("refund", intent.id))))
                    for intent in self._invoice_intents(invoice_id, "paid")
                    if not getattr(intent.latest_charge, "refunded", False)]

    def refund_payment_intent(self, intent_id: str) -> Obj:
        """Refund a one-time payment in full. Cannot refund twice: the idempotency key is the intent,
        and Stripe refuses to refund a charge already refunded (charge_already_refunded)."""
        with _translated():
            return _plain(self._v1.refunds.create({"payment_intent": intent_id, "reason": "requested_by_customer"},
                                                  self._opts(idempotency_key("refund", intent_id))))

    def retrieve_charge(self, charge_id: str) -> Obj:
        return self._read("/v1/charges/{}", charge_id)

    # --- portal and events --------------------------------------------------

    def create_portal_session(self, *, customer_id: str, return_url: str, key: str, locale: str | None = None) -> Obj:
        """A billing portal session for this customer only; `key` names the request; `locale` is the
        language Stripe shows the portal in (one Stripe offers, or "auto")."""
        params: PortalSessionCreateParams = {"customer": customer_id, "return_url": return_url}
        if locale:
            params["locale"] = locale
        with _translated():
            return _plain(self._v1.billing_portal.sessions.create(
                params, self._opts(idempotency_key("portal", customer_id, key))))

    def list_events(self, *, created_gte: int | None = None, types: list[str] | None = None) -> Iterator[Obj]:
        """Events, newest first, page by page (Stripe keeps the last 30 days)."""
        params: EventListParams = {"limit": 100}
        if created_gte is not None:
            params["created"] = {"gte": created_gte}
        if types:
            params["types"] = types
        with _translated():
            for event in self._v1.events.list(params).auto_paging_iter():
                yield _plain(event)

    def retrieve_event(self, event_id: str) -> Obj:
        return self._read("/v1/events/{}", event_id)
