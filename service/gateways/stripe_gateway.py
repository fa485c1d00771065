"""Billing through Stripe's API, with the official SDK. The only place `stripe` is imported
(with stripe_webhooks.py).

The same code talks to Stripe and to the local sandbox: `STRIPE_API_BASE` only
changes the address. Every method returns Stripe's objects as plain dicts (the
shapes of the pinned API version), so domain code never sees an SDK type, and
raises only the service's own `BillingError` family, never a `stripe` exception.

Every POST carries an idempotency key built from our own ids (`idempotency_key`),
so a retried request can never create a second customer, checkout or cancellation.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, cast

import stripe

from service.errors import BillingError, BillingNotFound, BillingUnavailable, PaymentDeclined

if TYPE_CHECKING:
    from stripe.params import CustomerCreateParams, CustomerUpdateParams, EventListParams, SubscriptionListParams
    from stripe.params.billing_portal import SessionCreateParams as PortalSessionCreateParams
    from stripe.params.checkout import SessionCreateParams, SessionCreateParamsLineItem

# The API version the pinned SDK (stripe==16.1.0) ships with. Pinning both means
# an SDK upgrade that changes object shapes cannot slip in unnoticed.
STRIPE_API_VERSION = "2026-10-28.endive"
if stripe.api_version != STRIPE_API_VERSION:  # pragma: no cover - guards an unreviewed upgrade
    raise RuntimeError(f"stripe SDK speaks {stripe.api_version}, the service is pinned to {STRIPE_API_VERSION}")

Obj = dict[str, Any]


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


class StripeGateway:
    """The billing gateway. One instance per app; safe to share between threads."""

    def __init__(self, api_key: str, *, api_base: str = "", max_network_retries: int = 3, timeout: float = 20.0):
        addresses: dict[str, str] = {"api": api_base.rstrip("/")} if api_base else {}
        self.livemode = api_key.startswith(("sk_live_", "rk_live_"))
        self._client = stripe.StripeClient(
            api_key,
            stripe_version=STRIPE_API_VERSION,
            base_addresses=addresses,  # type: ignore[arg-type]
            # The SDK retries connection errors, 409s, 429s and 5xx with backoff,
            # reusing the request's idempotency key.
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )
        self._v1 = self._client.v1

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> StripeGateway:
        return cls(config["STRIPE_SECRET_KEY"], api_base=config.get("STRIPE_API_BASE", ""))

    @staticmethod
    def _opts(key: str) -> stripe.RequestOptions:
        return {"idempotency_key": key}

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
        with _translated():
            return _plain(self._v1.customers.retrieve(customer_id))

    def update_customer(self, customer_id: str, *, key: str, email: str | None = None, name: str | None = None) -> Obj:
        """Change the customer's email or name; `key` names this change (e.g. an audit entry id)."""
        params = cast("CustomerUpdateParams", {k: v for k, v in (("email", email), ("name", name)) if v is not None})
        with _translated():
            return _plain(self._v1.customers.update(customer_id, params, self._opts(idempotency_key("customer", customer_id, key))))

    # --- catalog ------------------------------------------------------------

    def find_price(self, lookup_key: str) -> Obj | None:
        """The active price with this lookup key, or None."""
        with _translated():
            found = self._v1.prices.list({"lookup_keys": [lookup_key], "active": True, "limit": 1})
        return _plain(found.data[0]) if found.data else None

    def ensure_price(self, *, lookup_key: str, product_name: str, amount: int, currency: str, interval: str) -> Obj:
        """Find the price by lookup key, or create its product and price. Safe to run again."""
        existing = self.find_price(lookup_key)
        if existing is not None:
            return existing
        key = idempotency_key("price", lookup_key, amount, currency, interval)
        with _translated():
            product = self._v1.products.create(
                {"name": product_name, "metadata": {"lookup_key": lookup_key}}, self._opts(key + "-product"))
            price = self._v1.prices.create(
                {"product": product.id, "unit_amount": amount, "currency": currency, "recurring": {"interval": interval},
                 "lookup_key": lookup_key, "transfer_lookup_key": True}, self._opts(key))
        return _plain(price)

    # --- checkout -----------------------------------------------------------

    def create_checkout_session(self, *, member_id: int, customer_id: str, line_item: Obj, success_url: str,
                                cancel_url: str, key: str, metadata: dict[str, str] | None = None,
                                locale: str | None = None) -> Obj:
        """A subscription Checkout Session for the member's customer.

        `line_item` is {"price": id} or {"price_data": {...}} (pay what you want);
        `success_url` should carry {CHECKOUT_SESSION_ID}; `key` names the attempt; `metadata`
        (attribution) goes on the session and on the subscription, so every renewal carries it;
        `locale` is the language Stripe shows the page in (one Stripe offers, or "auto").
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
        with _translated():
            return _plain(self._v1.checkout.sessions.retrieve(session_id))

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
        with _translated():
            return _plain(self._v1.subscriptions.retrieve(subscription_id))

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

    def retrieve_invoice(self, invoice_id: str) -> Obj:
        with _translated():
            return _plain(self._v1.invoices.retrieve(invoice_id))

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

    def retrieve_charge(self, charge_id: str) -> Obj:
        with _translated():
            return _plain(self._v1.charges.retrieve(charge_id))

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
        with _translated():
            return _plain(self._v1.events.retrieve(event_id))
