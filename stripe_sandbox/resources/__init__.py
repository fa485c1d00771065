"""Stripe resources. Importing this package registers every `/v1` endpoint."""
from . import (  # noqa: F401
    catalog,
    charges,
    checkout,
    customers,
    events,
    invoice_payments,
    invoices,
    portal,
    prices,
    subscription_update,
    subscriptions,
    test_clocks,
)
