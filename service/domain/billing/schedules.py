"""Subscription schedules the service attaches (a yearly member's move to monthly at renewal) and
what they forbid: Stripe refuses to set `cancel_at_period_end` or `cancel_at` directly on a
subscription a schedule manages ("The subscription is managed by the subscription schedule
`sub_sched_...`, and updating any cancelation behavior directly is not allowed"). Cancelling *now*
(DELETE) is allowed, so only the paths that set or clear a cancellation date call this first."""
from __future__ import annotations

import logging

from service.gateways.stripe_gateway import StripeGateway
from service.logs import log_event

logger = logging.getLogger(__name__)


def release_schedule_of(subscription_id: str, gateway: StripeGateway, *, key: str) -> bool:
    """Release the schedule managing this subscription, if any, so its cancellation can be changed
    (the subscription runs on as it is now: https://docs.stripe.com/api/subscription_schedules/release).
    The planned phases are dropped with it. Returns whether there was one."""
    schedule = gateway.retrieve_subscription(subscription_id).get("schedule")
    if not schedule:
        return False
    schedule_id = schedule if isinstance(schedule, str) else schedule["id"]
    gateway.release_schedule(schedule_id, key=key)
    log_event(logger, "billing.schedule_released", stripe_subscription_id=subscription_id, schedule=schedule_id)
    return True
