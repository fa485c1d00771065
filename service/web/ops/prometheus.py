"""The Prometheus text exposition format (version 0.0.4) for the metrics snapshot."""
from __future__ import annotations

from service.domain.insight.metrics import Snapshot


def prometheus_text(snap: Snapshot) -> str:
    """The snapshot in Prometheus' text exposition format (version 0.0.4)."""
    out: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{labels} {value:g}" for labels, value in samples)

    metric("membership_webhook_events", "gauge", "Stripe events in the inbox, by state.",
           [(f'{{state="{s}"}}', n) for s, n in sorted(snap.webhooks.items())])
    metric("membership_webhook_events_received_total", "counter", "Stripe events stored since the start.",
           [("", sum(snap.webhooks.values()))])
    metric("membership_webhook_last_received_timestamp_seconds", "gauge", "When the newest event arrived.",
           [("", snap.last_webhook_at.timestamp() if snap.last_webhook_at else 0)])
    metric("membership_webhook_apply_seconds", "summary", "Received to applied, over the last hour.",
           [(f'{{quantile="{q}"}}', v) for q, v in sorted(snap.apply_seconds.items())])
    metric("membership_outbox_messages", "gauge", "Outbox messages, by state.",
           [(f'{{state="{s}"}}', n) for s, n in sorted(snap.outbox.items())])
    metric("membership_outbox_oldest_pending_age_seconds", "gauge", "Age of the oldest undelivered message.",
           [("", snap.outbox_oldest_age)])
    metric("membership_members", "gauge", "Members, by status.",
           [(f'{{status="{s}"}}', n) for s, n in sorted(snap.members.items())])
    return "\n".join(out) + "\n"
