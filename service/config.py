"""Settings from the environment (or `.env`), checked once at start-up.

Every setting is listed in `.env.example`. In production (`MEMBERSHIP_ENV=production`)
start-up stops with a message naming each required setting that is missing.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INSTANCE_DIR = Path(os.environ.get("MEMBERSHIP_INSTANCE_DIR", Path.cwd() / "instance"))
SANDBOX_SECRET_KEY = "sk_test_sandbox"
SANDBOX_WEBHOOK_SECRET = "whsec_sandbox_local_only"
ENVIRONMENTS = ("development", "production", "test")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting to fix."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def normalize_database_url(url: str) -> str:
    """Read `postgresql://` and `postgres://` URLs as psycopg 3 URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _dev_secret_key() -> str:
    """A stable random key for development, kept in instance/ so sessions survive restarts."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _check_mail_and_newsletters(config: dict[str, Any]) -> None:
    mail_url = config["MAIL_URL"].strip()
    if mail_url != "console" and not mail_url.startswith(("smtp://", "smtps://")):
        raise ConfigError(f"MAIL_URL must be smtp://HOST:PORT, smtps://HOST:PORT or console, got {mail_url.split(':')[0]!r}")
    if config["MAILCHIMP_REMOVAL"] not in ("archive", "unsubscribe"):
        raise ConfigError(f"MAILCHIMP_REMOVAL must be 'archive' or 'unsubscribe', got {config['MAILCHIMP_REMOVAL']!r}")
    if config["NEWSLETTER_PROVIDER"] == "mailchimp":
        key = config["MAILCHIMP_API_KEY"]
        if not key:
            raise ConfigError("NEWSLETTER_PROVIDER=mailchimp needs MAILCHIMP_API_KEY")
        if not config["MAILCHIMP_API_BASE"] and "-" not in key:
            raise ConfigError("MAILCHIMP_API_KEY should end in its data centre (like ...-us6), or set MAILCHIMP_API_BASE")


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the settings: environment first, then explicit overrides (tests)."""
    # String overrides are read exactly like environment variables; others are final values.
    overrides = dict(overrides or {})
    env = dict(os.environ if environ is None else environ)
    env.update({k: v for k, v in overrides.items() if isinstance(v, str)})
    get = lambda name, default="": env.get(name, default)  # noqa: E731

    mode = get("MEMBERSHIP_ENV", "development")
    if mode not in ENVIRONMENTS:
        raise ConfigError(f"MEMBERSHIP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {mode!r}")
    production = mode == "production"

    missing = [name for name in ("SECRET_KEY", "STRIPE_WEBHOOK_SECRET") if production and not get(name)]
    if missing:
        raise ConfigError("missing required setting(s) for production: " + ", ".join(missing))

    stripe_key = get("STRIPE_SECRET_KEY")
    backend = get("BILLING_BACKEND", "stripe" if stripe_key else "sandbox")
    if backend not in ("stripe", "sandbox"):
        raise ConfigError(f"BILLING_BACKEND must be 'stripe' or 'sandbox', got {backend!r}")
    if backend == "stripe" and not stripe_key:
        raise ConfigError("BILLING_BACKEND=stripe needs STRIPE_SECRET_KEY")
    if production and backend == "sandbox":
        raise ConfigError("production cannot run the Stripe sandbox: set STRIPE_SECRET_KEY")

    base_url = get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    webhook_secrets = [s.strip() for s in get("STRIPE_WEBHOOK_SECRET").split(",") if s.strip()]
    if backend == "sandbox" and not webhook_secrets:
        webhook_secrets = [SANDBOX_WEBHOOK_SECRET]

    config: dict[str, Any] = {
        "ENV": mode,
        "TESTING": mode == "test",
        "SECRET_KEY": get("SECRET_KEY") or (secrets.token_urlsafe(32) if mode == "test" else _dev_secret_key()),
        "BASE_URL": base_url,
        "DATABASE_URL": normalize_database_url(
            get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'membership.sqlite3'}")
        ),
        "BILLING_BACKEND": backend,
        "STRIPE_SECRET_KEY": stripe_key or SANDBOX_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRETS": webhook_secrets,
        "STRIPE_API_BASE": get("STRIPE_API_BASE", f"{base_url}/_sandbox" if backend == "sandbox" else ""),
        "SANDBOX_DB": get("SANDBOX_DB", str(INSTANCE_DIR / "sandbox.sqlite3")),
        # Apply webhooks in the request (default), or only store them for `membership worker`.
        "WEBHOOK_APPLY_INLINE": _bool("WEBHOOK_APPLY_INLINE", get("WEBHOOK_APPLY_INLINE", "true")),
        "PAST_DUE_GRACE_DAYS": _int("PAST_DUE_GRACE_DAYS", get("PAST_DUE_GRACE_DAYS", "7")),
        "MAIL_URL": get("MAIL_URL", "console"),
        "MAIL_FROM": get("MAIL_FROM", "Membership <members@localhost>"),
        "NEWSLETTER_PROVIDER": get("NEWSLETTER_PROVIDER", "local"),
        "MAILCHIMP_API_KEY": get("MAILCHIMP_API_KEY"),
        "MAILCHIMP_LIST_ID": get("MAILCHIMP_LIST_ID"),
        "MAILCHIMP_API_BASE": get("MAILCHIMP_API_BASE"),
        "MAILCHIMP_REMOVAL": get("MAILCHIMP_REMOVAL", "archive"),
        # 15 attempts with the default backoff span about a day and a half of provider outage.
        "OUTBOX_MAX_ATTEMPTS": _int("OUTBOX_MAX_ATTEMPTS", get("OUTBOX_MAX_ATTEMPTS", "15"), minimum=1),
        "OUTBOX_BACKOFF_SECONDS": _int("OUTBOX_BACKOFF_SECONDS", get("OUTBOX_BACKOFF_SECONDS", "60"), minimum=1),
        "OUTBOX_BACKOFF_MAX_SECONDS": _int("OUTBOX_BACKOFF_MAX_SECONDS",
                                           get("OUTBOX_BACKOFF_MAX_SECONDS", str(6 * 3600)), minimum=1),
        # Delivered outbox messages (which may hold addresses) are deleted after this many days.
        "OUTBOX_RETENTION_DAYS": _int("OUTBOX_RETENTION_DAYS", get("OUTBOX_RETENTION_DAYS", "7"), minimum=1),
        "OUTBOX_DELIVER_INLINE": _bool("OUTBOX_DELIVER_INLINE", get("OUTBOX_DELIVER_INLINE", "true")),
        # How many proxies (load balancer, reverse proxy) stand in front: their X-Forwarded-For/-Proto
        # are trusted that many hops deep, so rate limits and consent records see the reader's address.
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", get("TRUSTED_PROXIES", "0")),
        # When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`.
        "METRICS_TOKEN": get("METRICS_TOKEN"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", get("RATELIMIT_ENABLED", "true")),
        "RATELIMIT_STORAGE_URI": get("RATELIMIT_STORAGE_URI", "memory://"),
        # Emailed sign-in: the link and code live this long; a used link keeps working for a
        # few uses within the reuse window (mail scanners open links before the reader does).
        "SIGNIN_TOKEN_MINUTES": _int("SIGNIN_TOKEN_MINUTES", get("SIGNIN_TOKEN_MINUTES", "15"), minimum=1),
        "SIGNIN_REUSE_MINUTES": _int("SIGNIN_REUSE_MINUTES", get("SIGNIN_REUSE_MINUTES", "10"), minimum=1),
        "SIGNIN_LINK_MAX_USES": _int("SIGNIN_LINK_MAX_USES", get("SIGNIN_LINK_MAX_USES", "5"), minimum=1),
        "SIGNIN_CODE_MAX_ATTEMPTS": _int("SIGNIN_CODE_MAX_ATTEMPTS", get("SIGNIN_CODE_MAX_ATTEMPTS", "5"), minimum=1),
        "LOG_LEVEL": get("LOG_LEVEL", "INFO").upper(),
        "LOG_FORMAT": get("LOG_FORMAT", "json" if production else "text"),
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", get("MAX_CONTENT_LENGTH", str(1024 * 1024)), minimum=1024),
        # Cookies are Secure whenever the service is served over HTTPS (always in production).
        "SESSION_COOKIE_SECURE": production or base_url.startswith("https://"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production or base_url.startswith("https://"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": 3600 * 4,
        # Staff console sign-in: lockout after repeated failures, and re-authentication for
        # actions that touch billing when the last sign-in is older than this.
        "STAFF_MAX_FAILED_LOGINS": _int("STAFF_MAX_FAILED_LOGINS", get("STAFF_MAX_FAILED_LOGINS", "5"), minimum=1),
        "STAFF_LOCKOUT_MINUTES": _int("STAFF_LOCKOUT_MINUTES", get("STAFF_LOCKOUT_MINUTES", "15"), minimum=1),
        "STAFF_RECENT_LOGIN_MINUTES": _int("STAFF_RECENT_LOGIN_MINUTES", get("STAFF_RECENT_LOGIN_MINUTES", "15"),
                                           minimum=1),
        "STAFF_LOGIN_RATE_LIMIT": get("STAFF_LOGIN_RATE_LIMIT", "10 per minute"),
    }
    if config["NEWSLETTER_PROVIDER"] not in ("local", "mailchimp"):
        raise ConfigError(f"NEWSLETTER_PROVIDER must be 'local' or 'mailchimp', got {config['NEWSLETTER_PROVIDER']!r}")
    _check_mail_and_newsletters(config)
    if config["LOG_FORMAT"] not in ("json", "text"):
        raise ConfigError(f"LOG_FORMAT must be 'json' or 'text', got {config['LOG_FORMAT']!r}")
    config.update({k: v for k, v in overrides.items() if not isinstance(v, str)})
    return config
