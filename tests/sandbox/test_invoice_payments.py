"""Which payment paid an invoice, and refunding it by PaymentIntent.

Since API version 2025-03-31 an invoice no longer carries `charge` or `payment_intent`;
`GET /v1/invoice_payments?invoice=` lists its payments
(https://docs.stripe.com/api/invoice-payment/list), and a refund may name the
PaymentIntent instead of the charge (https://docs.stripe.com/api/refunds/create).
"""
import pytest
import stripe


def test_an_invoice_payment_names_the_intent_that_paid_it_and_refunding_it_refunds_the_charge(client, member):
    invoice = client.v1.invoices.retrieve(member["subscription"].latest_invoice)
    [payment] = client.v1.invoice_payments.list({"invoice": invoice.id}).data
    assert payment.object == "invoice_payment"
    assert payment.status == "paid"
    assert payment.amount_paid == invoice.amount_paid == 500
    intent = client.v1.payment_intents.retrieve(payment.payment.payment_intent)
    assert intent.status == "succeeded"
    refund = client.v1.refunds.create({"payment_intent": intent.id})
    assert refund.charge == intent.latest_charge
    assert client.v1.charges.retrieve(intent.latest_charge).refunded is True
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({"payment_intent": intent.id})  # nothing left to refund


def test_a_refund_names_a_charge_or_an_intent_not_both(client, member):
    charge = client.v1.charges.list({"customer": member["customer"].id}).data[0]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({"charge": charge.id, "payment_intent": charge.payment_intent})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({})


def test_the_invoice_payment_is_shaped_as_stripes(client, member):
    from .test_stripe_types import check

    invoice = client.v1.invoices.retrieve(member["subscription"].latest_invoice)
    [payment] = client.v1.invoice_payments.list({"invoice": invoice.id}).data
    check(stripe.InvoicePayment, payment.to_dict())
    assert set(payment.payment.to_dict()) <= set(stripe.InvoicePayment.Payment.__annotations__)


def test_invoice_payments_are_found_by_the_payment_intent_that_made_them(client, member):
    """`payment[type]=payment_intent&payment[payment_intent]=pi_...` filters the list
    (https://docs.stripe.com/api/invoice-payment/list#list_invoice_payment-payment; the SDK's
    InvoicePaymentListParamsPayment): a refund names only the payment, this finds its invoice."""
    invoice = client.v1.invoices.retrieve(member["subscription"].latest_invoice)
    [paid] = client.v1.invoice_payments.list({"invoice": invoice.id}).data
    intent = paid.payment.payment_intent
    [found] = client.v1.invoice_payments.list({"payment": {"type": "payment_intent", "payment_intent": intent}}).data
    assert found.invoice == invoice.id
    assert client.v1.invoice_payments.list({"payment": {"type": "payment_intent", "payment_intent": "pi_unknown"}}).data == []
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoice_payments.list({"payment": {"type": "charge", "payment_intent": intent}})


def test_an_invoice_read_in_full_expands_its_subscription_and_includes_its_payments(client, member):
    """`parent.subscription_details.subscription` is expandable and `payments` is a list Stripe
    includes only when asked for it with `expand[]` (https://docs.stripe.com/api/invoices/object;
    https://docs.stripe.com/api/invoice-payment: "by expanding the payments field on the
    Invoice resource"): one read brings what a renewal's invoice.paid needs."""
    from .test_stripe_types import check

    sub = member["subscription"]
    plain = client.v1.invoices.retrieve(sub.latest_invoice).to_dict()
    assert "payments" not in plain
    assert plain["parent"]["subscription_details"]["subscription"] == sub.id
    full = client.v1.invoices.retrieve(sub.latest_invoice, {
        "expand": ["parent.subscription_details.subscription", "payments"]}).to_dict()
    assert full["parent"]["subscription_details"]["subscription"] == client.v1.subscriptions.retrieve(sub.id).to_dict()
    payments = full["payments"]
    assert (payments["object"], payments["has_more"]) == ("list", False)
    [payment] = payments["data"]
    assert payment == client.v1.invoice_payments.list({"invoice": full["id"]}).data[0].to_dict()
    check(stripe.InvoicePayment, payment)
    assert set(full) <= set(stripe.Invoice.__annotations__)


def test_an_expansion_nests_at_most_four_levels(client, member):
    """Stripe refuses a path of more than four parts ("You cannot expand more than 4 levels of a
    property", https://docs.stripe.com/expand): the payments' PaymentIntent is as deep as an
    invoice read goes, so its charge's balance transaction takes a read of its own."""
    invoice_id = member["subscription"].latest_invoice
    deepest = client.v1.invoices.retrieve(invoice_id, {"expand": ["payments.data.payment.payment_intent"]})
    assert deepest.payments.data[0].payment.payment_intent.object == "payment_intent"
    with pytest.raises(stripe.InvalidRequestError, match="more than 4 levels"):
        client.v1.invoices.retrieve(invoice_id, {"expand": ["payments.data.payment.payment_intent.latest_charge"]})
