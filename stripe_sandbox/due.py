"""What the clock makes happen: period ends, renewal finalization, retries, settlements, expiry.

`process_due` runs every task that has fallen due by the sandbox's current
time, earliest first, each stamped with its own due time (so a 62-day jump
produces two renewals a month apart, as a Stripe test clock would).
Tasks belong to the clock of their object's customer: the global run only
takes those of customers on no test clock; a test clock's advance
(resources/test_clocks.py) takes only its own customers', moving the clock's
frozen_time to each task's time as it goes
(https://docs.stripe.com/billing/testing/test-clocks).
"""
from . import renewals, settlement, test_clocks
from .resources.checkout import expire
from .resources.subscriptions import LIVE, period_end

# A bound on tasks per call, so a bug can never spin forever.
MAX_TASKS = 10_000
DAY = 86400


def process_due(sb, clock_id: str | None = None, until: int | None = None) -> list[dict]:
    """Run the due tasks of `clock_id`'s customers (None: the global clock's) up to `until`
    (default: global now) in time order; returns what was done, for the caller to show."""
    done, mine = [], _owned_by(sb, clock_id)
    until = sb.now() if until is None else until
    for _ in range(MAX_TASKS):
        task = _next_task(sb, until, mine)
        if task is None:
            break
        at, _order, kind, obj_id = task
        if clock_id is not None:
            test_clocks.move(sb, clock_id, at)
        _run(sb, kind, obj_id, at)
        done.append({"at": at, "task": kind, "id": obj_id})
    return done


def _owned_by(sb, clock_id):
    """A filter on stored objects: those whose customer is on `clock_id`."""
    owners = test_clocks.owners(sb)
    return lambda objects: [o for o in objects if owners.get(o.get("customer")) == clock_id]


def _next_task(sb, until: int, mine):
    tasks = [t for t in (*_subscription_tasks(sb, mine), *_invoice_tasks(sb, mine),
                         *_other_tasks(sb, mine)) if t[0] <= until]
    return min(tasks) if tasks else None


def _subscription_tasks(sb, mine):
    for sub in mine(sb.store.all("subscription")):
        if sub["status"] not in LIVE:
            continue
        pause = sub["pause_collection"]
        if pause is not None and pause["resumes_at"] is not None:
            yield pause["resumes_at"], 0, "pause_resume", sub["id"]
        if sub["status"] == "trialing" and sub.get("_trial_will_end_sent") != sub["trial_end"]:
            yield max(sub["trial_end"] - 3 * DAY, sub["trial_start"]), 1, "trial_will_end", sub["id"]
        ends = [period_end(sub)] if sub["status"] in renewals.RENEWING else []
        ends += [sub["cancel_at"]] if sub["cancel_at"] is not None else []
        if ends:
            yield min(ends), 2, "renewal", sub["id"]


def _invoice_tasks(sb, mine):
    for invoice in mine(sb.store.all("invoice")):
        finalizes = invoice["automatically_finalizes_at"]
        if invoice["status"] == "draft" and invoice["auto_advance"] and finalizes is not None:
            yield finalizes, 3, "invoice_finalization", invoice["id"]
        retry = invoice["next_payment_attempt"]
        if invoice["status"] == "open" and retry is not None:
            yield retry, 4, "payment_retry", invoice["id"]


def _other_tasks(sb, mine):
    for intent in mine(sb.store.all("payment_intent")):
        if intent["status"] == "processing" and intent.get("_settles_at"):
            yield intent["_settles_at"], 5, "payment_settlement", intent["id"]
    for session in mine(sb.store.all("checkout.session")):
        if session["status"] == "open" and session["expires_at"] is not None:
            yield session["expires_at"], 6, "checkout_expiry", session["id"]


_RUNNERS = {
    "pause_resume": renewals.resume_collection,
    "trial_will_end": renewals.trial_will_end,
    "renewal": renewals.on_period_end,
    "invoice_finalization": renewals.finalize_due,
    "payment_retry": renewals.retry,
    "payment_settlement": settlement.settle_intent,
    "checkout_expiry": expire,
}


def _run(sb, kind: str, obj_id: str, at: int) -> None:
    _RUNNERS[kind](sb, sb.store.get(obj_id), at)
