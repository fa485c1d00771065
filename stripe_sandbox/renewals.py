"""What the clock does to a subscription: period ends, renewal invoices, retries, the end.

At a period end (https://docs.stripe.com/billing/subscriptions/overview#subscription-lifecycle)
the period advances at once (customer.subscription.updated) and the renewal
invoice is created as a draft (invoice.created); Stripe finalizes it and
attempts payment "about an hour" later, which `finalize_due` does when the
draft's `automatically_finalizes_at` falls due.
A failed payment makes the subscription `past_due` and is retried
SANDBOX_RETRY_DAYS after each attempt; after the last one the subscription is
`canceled` or `unpaid` (SANDBOX_DUNNING_FINAL).
https://docs.stripe.com/billing/revenue-recovery/smart-retries
A `cancel_at` date ends the subscription then; a renewal into a period that
contains it is prorated ("If set during a future period, this will always
cause a proration for that period": the SDK's SubscriptionUpdateParams.cancel_at).
While `pause_collection` is set, renewal invoices are voided, kept as drafts or
marked uncollectible and never charged; the status stays `active`
(https://docs.stripe.com/billing/subscriptions/pause-payment).
A subscription schedule's next phase starts at a period end (resources/subscription_schedules.py).
"""
import copy

from . import invoicing
from .events import emit, save_updated
from .periods import add_interval
from .resources.invoices import subscription_of
from .resources.subscription_schedules import at_period_end as schedule_at_period_end
from .resources.subscriptions import end_subscription, period_end

HOUR = 3600
RENEWING = ("active", "past_due", "trialing")


def on_period_end(sb, sub: dict, at: int) -> dict:
    """`at` is the subscription's period end or its cancel_at, whichever came first."""
    if sub["cancel_at"] is not None and sub["cancel_at"] <= at:
        return end_subscription(sb, sub, at)
    sub = schedule_at_period_end(sb, sub, at)
    if sub["status"] in ("canceled", "incomplete_expired"):
        return sub
    if sub["status"] == "trialing" and invoicing.payment_method_for(sb, sub) is None:
        behavior = sub["trial_settings"]["end_behavior"]["missing_payment_method"]
        if behavior != "create_invoice":
            return trial_ends_without_payment_method(sb, sub, behavior, at)
    return renew(sb, sub, at)


def trial_ends_without_payment_method(sb, sub: dict, behavior: str, at: int) -> dict:
    """`trial_settings.end_behavior.missing_payment_method`: `pause` makes the subscription
    `paused` (customer.subscription.paused), `cancel` ends it; no invoice either way
    (https://docs.stripe.com/billing/subscriptions/trials#create-free-trials-without-payment)."""
    if behavior == "cancel":
        return end_subscription(sb, sub, at)
    paused_sub = save_updated(sb, "customer.subscription.updated", sub, {**sub, "status": "paused"}, at)
    emit(sb, "customer.subscription.paused", paused_sub, at=at)
    return paused_sub


def renew(sb, sub: dict, at: int) -> dict:
    """Advance the period, create the renewal draft, emit customer.subscription.updated."""
    start = period_end(sub)
    new = copy.deepcopy(sub)
    natural = add_interval(start, new["items"]["data"][0]["price"])
    end, fraction = natural, None
    if sub["cancel_at"] is not None and start < sub["cancel_at"] < natural:
        end, fraction = sub["cancel_at"], (sub["cancel_at"] - start) / (natural - start)
    for item in new["items"]["data"]:
        item.update(current_period_start=start, current_period_end=end)
    if sub["status"] == "trialing":
        new["status"] = "active"
    old_period = (sub["items"]["data"][0]["current_period_start"], start)
    invoice = invoicing.create_draft(sb, new, reason="subscription_cycle", period=old_period,
                                     line_period=(start, end), at=at, fraction=fraction)
    if paused(new, at):
        apply_pause(sb, invoice, new, at)
    else:
        sb.store.put({**invoice, "automatically_finalizes_at": at + HOUR})
    new["latest_invoice"] = invoice["id"]
    return save_updated(sb, "customer.subscription.updated", sub, new, at)


def paused(sub: dict, at: int) -> bool:
    pause = sub["pause_collection"]
    return pause is not None and (pause["resumes_at"] is None or at < pause["resumes_at"])


def apply_pause(sb, invoice: dict, sub: dict, at: int) -> dict:
    """A renewal invoice made while collection is paused is never charged.

    Sandbox detail: it is voided or marked uncollectible straight from draft
    (invoice.voided / invoice.marked_uncollectible, no invoice.finalized).
    """
    behavior = sub["pause_collection"]["behavior"]
    if behavior == "void":
        return invoicing.void(sb, invoice, at)
    if behavior == "mark_uncollectible":
        return invoicing.mark_uncollectible(sb, invoice, at)
    return sb.store.put({**invoice, "auto_advance": False, "automatically_finalizes_at": None})


def resume_collection(sb, sub: dict, at: int) -> dict:
    """`pause_collection[resumes_at]` has come: collection resumes by itself."""
    return save_updated(sb, "customer.subscription.updated", sub, {**sub, "pause_collection": None}, at)


def finalize_due(sb, invoice: dict, at: int) -> dict:
    """About an hour after a renewal draft was made: finalize it and attempt payment."""
    sub = sb.store.get(subscription_of(invoice), "subscription")
    if sub is None or sub["status"] in ("canceled", "incomplete_expired"):
        return sb.store.put({**invoice, "auto_advance": False, "automatically_finalizes_at": None})
    if paused(sub, at):
        return apply_pause(sb, invoice, sub, at)
    opened = invoicing.finalize(sb, invoice, at)
    if opened["status"] != "open":
        return opened
    result = invoicing.attempt(sb, opened, sub, at)
    settle_status(sb, sub, result, at)
    return result


def settle_status(sb, sub: dict, invoice: dict, at: int) -> dict:
    """The subscription status after a payment attempt on its latest invoice."""
    sub = sb.store.get(sub["id"], "subscription")
    if invoice["status"] == "paid" and sub["status"] in ("past_due", "unpaid"):
        return save_updated(sb, "customer.subscription.updated", sub, {**sub, "status": "active"}, at)
    failed = invoice["status"] == "open" and invoice.get("_intent_status") != "processing"
    if failed and sub["status"] in ("active", "trialing"):
        return save_updated(sb, "customer.subscription.updated", sub, {**sub, "status": "past_due"}, at)
    return sub


def retry(sb, invoice: dict, at: int) -> dict:
    """A scheduled retry of an open subscription invoice."""
    sub = sb.store.get(subscription_of(invoice), "subscription")
    if sub is None or sub["status"] not in ("active", "past_due"):
        # Nothing left to collect for: stop retrying quietly.
        return sb.store.put({**invoice, "next_payment_attempt": None})
    result = invoicing.attempt(sb, invoice, sub, at)
    if result["status"] == "paid":
        settle_status(sb, sub, result, at)
    elif result["next_payment_attempt"] is None:
        give_up(sb, sub, result, at)
    return result


def give_up(sb, sub: dict, invoice: dict, at: int) -> dict:
    """After the last failed retry: cancel (invoice uncollectible) or mark unpaid (invoice open)."""
    if sb.dunning_final == "unpaid":
        return save_updated(sb, "customer.subscription.updated", sub, {**sub, "status": "unpaid"}, at)
    invoicing.mark_uncollectible(sb, invoice, at)
    return end_subscription(sb, sub, at, reason="payment_failed")


def trial_will_end(sb, sub: dict, at: int) -> dict:
    """Three days before a trial ends: customer.subscription.trial_will_end
    (https://docs.stripe.com/billing/subscriptions/trials#use-webhooks-for-trial-subscriptions)."""
    marked = sb.store.put({**sub, "_trial_will_end_sent": sub["trial_end"]})
    emit(sb, "customer.subscription.trial_will_end", marked, at=at)
    return marked
