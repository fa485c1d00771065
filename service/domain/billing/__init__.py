"""Billing: plans, joining and Stripe Checkout, the webhook inbox and its handlers, reconcile."""
