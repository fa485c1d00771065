"""Read-only queries for staff: search, the member view, the dashboard, metrics and the audit log."""
