"""Giving: contributions, receipts, statements, gifts and attribution."""
