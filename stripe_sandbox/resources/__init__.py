"""Stripe resources. Importing this package registers every `/v1` endpoint."""
from . import catalog, charges, checkout, customers, events, invoices, portal, prices, subscriptions  # noqa: F401
