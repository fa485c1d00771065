"""Integrations with the newsroom's other systems: outgoing webhooks."""
