"""Stripe resources. Importing this package registers every `/v1` endpoint."""
from . import catalog, prices, charges, checkout, customers, events, invoices, portal, subscriptions  # noqa: F401
