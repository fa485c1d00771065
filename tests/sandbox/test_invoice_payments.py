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
