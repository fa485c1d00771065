"""Invoices for subscriptions: built here as drafts, moved along by invoicing.py, listed here.

Shaped for API version 2026-10-28: the subscription is at
`invoice.parent.subscription_details.subscription` (no top-level
`subscription`), and each line carries
`parent.subscription_item_details.subscription`.
"""
from flask import request

from ..api import endpoint
from ..currencies import unit_amount_in
from ..customer_balance import balance_in
from ..ids import new_id
from ..listing import PAGING, created_filter, page, render
from ..wire import choice, fetch, reject_unknown, string

STATUSES = ("draft", "open", "paid", "uncollectible", "void")


def new_invoice(sub: dict, customer: dict, *, invoice_id: str, reason: str,
                period: tuple[int, int], lines: list[dict], at: int) -> dict:
    """A draft invoice `invoice_id` for `sub` with `lines` built by subscription_lines() and
    item_line() for that id; not stored (invoicing.py moves it along)."""
    total = sum(line["amount"] for line in lines)
    return {
        "id": invoice_id, "object": "invoice", "account_country": "US",
        "account_name": "Stripe sandbox", "account_tax_ids": None, "amount_due": max(total, 0),
        "amount_overpaid": 0, "amount_paid": 0, "amount_remaining": max(total, 0),
        "amount_shipping": 0, "application": None, "attempt_count": 0, "attempted": False,
        "auto_advance": True,
        "automatic_tax": {"enabled": False, "liability": None, "status": None,
                          "disabled_reason": None, "provider": None},
        "automatically_finalizes_at": None, "billing_reason": reason,
        "collection_method": "charge_automatically", "created": at, "currency": sub["currency"],
        "custom_fields": None, "customer": customer["id"], "customer_account": None,
        "customer_address": None, "customer_email": customer["email"],
        "customer_name": customer["name"], "customer_phone": customer["phone"],
        "customer_shipping": None, "customer_tax_exempt": "none", "customer_tax_ids": [],
        "default_payment_method": None, "default_source": None, "default_tax_rates": [],
        "description": None, "discounts": [], "due_date": None, "effective_at": None,
        "ending_balance": None, "footer": None, "from_invoice": None,
        "hosted_invoice_url": f"{request.url_root}invoices/{invoice_id}", "invoice_pdf": None,
        "issuer": {"type": "self"}, "last_finalization_error": None, "latest_revision": None,
        "lines": {"object": "list", "data": lines, "has_more": False,
                  "url": f"/v1/invoices/{invoice_id}/lines"},
        "livemode": False, "metadata": {}, "next_payment_attempt": None, "number": None,
        "on_behalf_of": None,
        "parent": {"quote_details": None, "type": "subscription_details",
                   "subscription_details": {"metadata": dict(sub["metadata"]),
                                            "subscription": sub["id"]}},
        "payment_settings": {"default_mandate": None, "payment_method_options": None,
                             "payment_method_types": None},
        "period_end": period[1], "period_start": period[0], "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0, "receipt_number": None, "rendering": None,
        "shipping_cost": None, "shipping_details": None,
        "starting_balance": balance_in(customer, sub["currency"]),
        "statement_descriptor": None, "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None,
                               "paid_at": None, "voided_at": None},
        "subtotal": total, "subtotal_excluding_tax": total,
        "test_clock": customer.get("test_clock"), "total": total,
        "total_discount_amounts": [], "total_excluding_tax": total,
        "total_pretax_credit_amounts": [], "total_taxes": [], "webhooks_delivered_at": at,
    }


def subscription_lines(invoice_id: str, sub: dict, period: tuple[int, int],
                       fraction: float | None = None) -> list[dict]:
    """One line per item for `period`; `fraction` < 1 prorates a shortened last period,
    0 is a trial's free period."""
    return [_line(invoice_id, item, sub["currency"], period, fraction) for item in sub["items"]["data"]]


def _line(invoice_id: str, item: dict, currency: str, period: tuple[int, int], fraction: float | None) -> dict:
    """A line in the subscription's `currency`: the price's amount in it (a currency option)."""
    price, quantity = item["price"], item["quantity"]
    unit = unit_amount_in(price, currency)
    amount = unit * quantity
    if fraction is not None:
        amount = round(amount * fraction)
    trial = fraction == 0  # a trial's $0 line, not a proration
    details = {"invoice_item": None, "proration": fraction is not None and not trial,
               "proration_details": {"credited_items": None},
               "subscription": item["subscription"], "subscription_item": item["id"]}
    name = price.get("nickname") or "Subscription"
    return _line_object(invoice_id, (amount, currency, str(unit)), price, quantity, period,
                        f"Trial period for {name}" if trial else f"{quantity} × {name}",
                        {"type": "subscription_item_details", "invoice_item_details": None,
                         "subscription_item_details": details})


def item_line(invoice_id: str, invoiceitem: dict, price: dict) -> dict:
    """The line for a pending invoice item (a proration) added to this invoice."""
    details = {"invoice_item": invoiceitem["id"], "proration": invoiceitem["proration"],
               "proration_details": {"credited_items": None},
               "subscription": invoiceitem["parent"]["subscription_details"]["subscription"]}
    period = (invoiceitem["period"]["start"], invoiceitem["period"]["end"])
    money = (invoiceitem["amount"], invoiceitem["currency"], invoiceitem["pricing"]["unit_amount_decimal"])
    return _line_object(invoice_id, money, price, invoiceitem["quantity"], period, invoiceitem["description"],
                        {"type": "invoice_item_details", "invoice_item_details": details,
                         "subscription_item_details": None})


def _line_object(invoice_id, money, price, quantity, period, description, parent) -> dict:
    """`money` is (amount, currency, unit_amount_decimal) in the invoice's currency."""
    amount, currency, unit_decimal = money
    return {
        "id": new_id("il_"), "object": "line_item", "amount": amount, "currency": currency,
        "description": description, "discount_amounts": [], "discountable": True, "discounts": [],
        "invoice": invoice_id, "livemode": False, "metadata": {},
        "period": {"start": period[0], "end": period[1]}, "pretax_credit_amounts": [],
        "quantity": quantity, "quantity_decimal": str(quantity), "subtotal": amount, "taxes": [],
        "parent": parent,
        "pricing": {"type": "price_details", "unit_amount_decimal": unit_decimal,
                    "price_details": {"price": price["id"], "product": price["product"]}},
    }


def subscription_of(invoice: dict) -> str | None:
    parent = invoice.get("parent") or {}
    return (parent.get("subscription_details") or {}).get("subscription")


def get_invoice(sb, invoice_id, param="id", status=404) -> dict:
    return fetch(sb, "invoice", invoice_id, param, status)


@endpoint("/invoices/<invoice_id>")
def retrieve(sb, params, invoice_id):
    reject_unknown(params, set())
    return render(sb, get_invoice(sb, invoice_id), params)


@endpoint("/invoices/<invoice_id>/lines")
def lines(sb, params, invoice_id):
    reject_unknown(params, PAGING)
    invoice = get_invoice(sb, invoice_id)
    return render(sb, page(invoice["lines"]["data"], params, invoice["lines"]["url"]), params)


@endpoint("/invoices")
def list_(sb, params):
    reject_unknown(params, PAGING | {"customer", "subscription", "status", "created",
                                     "collection_method"})
    customer, sub = string(params, "customer"), string(params, "subscription")
    status, in_range = choice(params, "status", STATUSES), created_filter(params)
    found = [i for i in sb.store.all("invoice", customer)
             if (sub is None or subscription_of(i) == sub)
             and (status is None or i["status"] == status) and in_range(i["created"])]
    return render(sb, page(found, params, "/v1/invoices"), params)
