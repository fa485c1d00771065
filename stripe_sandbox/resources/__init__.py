"""Stripe resources. Importing this package registers every `/v1` endpoint."""
from . import (  # noqa: F401
    catalog,
    charges,
    checkout,
    customer_balance,
    customers,
    events,
    invoice_items,
    invoice_payments,
    invoices,
    portal,
    prices,
    subscription_schedules,
    subscription_update,
    subscriptions,
    test_clocks,
)
