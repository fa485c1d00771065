"""Sandbox settings: defaults, parsing, and the environment variables behind them."""
import os

DEFAULTS = {
    # SQLite file for the sandbox state; ":memory:" keeps it in the process.
    "SANDBOX_DB": ":memory:",
    # The implicit webhook endpoint (the service's /webhooks/stripe) and its secret.
    "SANDBOX_WEBHOOK_URL": None,
    "SANDBOX_WEBHOOK_SECRET": None,
    # What happens when the last payment retry fails: "canceled" or "unpaid".
    "SANDBOX_DUNNING_FINAL": "canceled",
    # Days after the previous failed attempt at which a renewal is retried.
    "SANDBOX_RETRY_DAYS": "3,5,7",
    # Deliver webhooks from a background thread; tests may turn it off and
    # call stripe_sandbox.deliver_pending(app) instead.
    "SANDBOX_DELIVER_WEBHOOKS": True,
    # Delivery retry policy: attempts, first backoff and cap (seconds), timeout.
    "SANDBOX_WEBHOOK_MAX_ATTEMPTS": 8,
    "SANDBOX_WEBHOOK_BACKOFF": 1.0,
    "SANDBOX_WEBHOOK_BACKOFF_CAP": 60.0,
    "SANDBOX_WEBHOOK_TIMEOUT": 10.0,
}

_TRUE = {"1", "true", "yes", "on"}


def from_env(environ=os.environ) -> dict:
    """Settings found in the environment, by the same names as the config keys."""
    return {key: environ[key] for key in DEFAULTS if key in environ}


def as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in _TRUE
    return bool(value)


def retry_days(value) -> list[float]:
    """Parse "3,5,7" (or a list) into day offsets; an empty value means no retries."""
    if isinstance(value, (list, tuple)):
        return [float(v) for v in value]
    return [float(part) for part in str(value or "").split(",") if part.strip()]


def signing_secret(value) -> str | None:
    """The secret to sign with: the first of a comma-separated list (rotation)."""
    if not value:
        return None
    return str(value).split(",")[0].strip() or None


def validate(config) -> None:
    """Refuse settings that would make the sandbox behave unlike Stripe silently."""
    final = config["SANDBOX_DUNNING_FINAL"]
    if final not in ("canceled", "unpaid"):
        raise ValueError(f"SANDBOX_DUNNING_FINAL must be 'canceled' or 'unpaid', not {final!r}")
    retry_days(config["SANDBOX_RETRY_DAYS"])
