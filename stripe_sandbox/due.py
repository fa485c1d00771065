"""What the clock makes happen: renewals, payment retries, session expiry.

`process_due` runs every task that has fallen due by the sandbox's current
time, earliest first, each stamped with its own due time (so a 62-day jump
produces two renewals a month apart, as a Stripe test clock would).
"""
from . import billing
from .resources.checkout import expire
from .resources.subscriptions import period_end

RENEWING = ("active", "past_due", "trialing")
# A bound on tasks per call, so a bug can never spin forever.
MAX_TASKS = 10_000


def process_due(sb) -> list[dict]:
    """Run all due tasks in time order; returns what was done, for the caller to show."""
    done = []
    until = sb.now()
    for _ in range(MAX_TASKS):
        task = _next_task(sb, until)
        if task is None:
            break
        at, _order, kind, obj_id = task
        _run(sb, kind, obj_id, at)
        done.append({"at": at, "task": kind, "id": obj_id})
    return done


def _next_task(sb, until: int):
    tasks = []
    for sub in sb.store.all("subscription"):
        if sub["status"] in RENEWING and period_end(sub) <= until:
            tasks.append((period_end(sub), 0, "renewal", sub["id"]))
    for invoice in sb.store.all("invoice"):
        due = invoice["next_payment_attempt"]
        if invoice["status"] == "open" and due is not None and due <= until:
            tasks.append((due, 1, "payment_retry", invoice["id"]))
    for session in sb.store.all("checkout.session"):
        if session["status"] == "open" and session["expires_at"] <= until:
            tasks.append((session["expires_at"], 2, "checkout_expiry", session["id"]))
    return min(tasks) if tasks else None


def _run(sb, kind: str, obj_id: str, at: int) -> None:
    obj = sb.store.get(obj_id)
    if kind == "renewal":
        billing.renew(sb, obj, at)
    elif kind == "payment_retry":
        billing.retry(sb, obj, at)
    else:
        expire(sb, obj, at)
