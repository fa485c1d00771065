"""Settings from the environment (or `.env`), checked once at start-up.

Every setting is listed in `.env.example`. In production (`MEMBERSHIP_ENV=production`)
start-up stops with a message naming each required setting that is missing.
"""
from __future__ import annotations

import builtins
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

INSTANCE_DIR = Path(os.environ.get("MEMBERSHIP_INSTANCE_DIR", Path.cwd() / "instance"))
SANDBOX_SECRET_KEY = "sk_test_sandbox"
SANDBOX_WEBHOOK_SECRET = "whsec_sandbox_local_only"
ENVIRONMENTS = ("development", "production", "test")
# Production's shortest signing key, and the most proxy hops it believes (more is a mistake, not a network).
MIN_SECRET_KEY_LENGTH = 32
MAX_TRUSTED_PROXIES = 5
# A worker's threads and its main loop each hold a connection of the pool (service/extensions.py: 20).
MAX_WORKER_THREADS = 16
TEST_KEY = re.compile(r"^(sk|rk)_test_")
# Reader pages and emails are written in English; other languages need a compiled catalog here.
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
SOURCE_LANGUAGE = "en"
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
CURRENCY_CODE = re.compile(r"^[a-z]{3}$")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting to fix."""


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _int(name: str, raw: str, minimum: int = 0, maximum: int | None = None) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


class _Env:
    """The environment's strings, read one setting at a time; a bad value's error names its setting.

    The default applies only when the setting is absent: a setting that is present but empty is
    read as given (so `PAST_DUE_GRACE_DAYS=` is refused rather than silently defaulted).
    """

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    # The readers are named after the type they return, so annotations spell out `builtins.`.
    def str(self, name: builtins.str, default: builtins.str = "") -> builtins.str:
        return self._values.get(name, default)

    def int(self, name: builtins.str, default: builtins.int, minimum: builtins.int = 0,
            maximum: builtins.int | None = None) -> builtins.int:
        raw = self._values.get(name)
        return default if raw is None else _int(name, raw, minimum, maximum)

    def bool(self, name: builtins.str, default: builtins.bool) -> builtins.bool:
        raw = self._values.get(name)
        return default if raw is None else _bool(name, raw)

    def choice(self, name: builtins.str, default: builtins.str, allowed: Sequence[builtins.str]) -> builtins.str:
        value = self.str(name, default)
        if value not in allowed:
            expected = " or ".join(map(repr, allowed)) if len(allowed) == 2 else "one of " + ", ".join(allowed)
            raise ConfigError(f"{name} must be {expected}, got {value!r}")
        return value


def normalize_database_url(url: str) -> str:
    """Read `postgresql://` and `postgres://` URLs as psycopg 3 URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'membership.sqlite3'}"


def _dev_secret_key() -> str:
    """A stable random key for development, kept in instance/ so sessions survive restarts."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _core(env: _Env) -> dict[str, Any]:
    """Mode, signing key, public address, database and logging."""
    mode = env.choice("MEMBERSHIP_ENV", "development", ENVIRONMENTS)
    production = mode == "production"
    missing = [name for name in ("SECRET_KEY", "STRIPE_WEBHOOK_SECRET") if production and not env.str(name)]
    if missing:
        raise ConfigError("missing required setting(s) for production: " + ", ".join(missing))
    return {
        "ENV": mode,
        "TESTING": mode == "test",
        "SECRET_KEY": env.str("SECRET_KEY") or (secrets.token_urlsafe(32) if mode == "test" else _dev_secret_key()),
        "BASE_URL": env.str("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "DATABASE_URL": normalize_database_url(env.str("DATABASE_URL", _default_database_url())),
        "LOG_LEVEL": env.str("LOG_LEVEL", "INFO").upper(),
        "LOG_FORMAT": env.choice("LOG_FORMAT", "json" if production else "text", ("json", "text")),
    }


def _billing(env: _Env, production: bool, base_url: str) -> dict[str, Any]:
    """Stripe, or the built-in sandbox standing in for it, and what a failed renewal means."""
    stripe_key = env.str("STRIPE_SECRET_KEY")
    backend = env.choice("BILLING_BACKEND", "stripe" if stripe_key else "sandbox", ("stripe", "sandbox"))
    if backend == "stripe" and not stripe_key:
        raise ConfigError("BILLING_BACKEND=stripe needs STRIPE_SECRET_KEY")
    if production and backend == "sandbox":
        raise ConfigError("production cannot run the Stripe sandbox: set STRIPE_SECRET_KEY")
    sandbox = backend == "sandbox"
    webhook_secrets = [s.strip() for s in env.str("STRIPE_WEBHOOK_SECRET").split(",") if s.strip()]
    return {
        "BILLING_BACKEND": backend,
        "STRIPE_SECRET_KEY": stripe_key or SANDBOX_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRETS": webhook_secrets or ([SANDBOX_WEBHOOK_SECRET] if sandbox else []),
        "STRIPE_API_BASE": env.str("STRIPE_API_BASE", f"{base_url}/_sandbox" if sandbox else ""),
        "SANDBOX_DB": env.str("SANDBOX_DB", str(INSTANCE_DIR / "sandbox.sqlite3")),
        # Reads this process makes to Stripe a second, shared by its threads (0: no limit). Stripe
        # allows an account 100 a second in live mode, 25 in a sandbox
        # (https://docs.stripe.com/rate-limits): 25 leaves room for four processes (web and
        # workers) in live mode; a 429 is retried after its Retry-After either way.
        "STRIPE_READS_PER_SECOND": env.int("STRIPE_READS_PER_SECOND", 25, minimum=0),
        # Apply webhooks in the request (default), or only store them for `membership worker`.
        "WEBHOOK_APPLY_INLINE": env.bool("WEBHOOK_APPLY_INLINE", True),
        # An event that fails this many times (about 20 hours with the backoff) is dead: no more
        # retries, and the dashboard's webhook health shows it for staff.
        "INBOX_MAX_ATTEMPTS": env.int("INBOX_MAX_ATTEMPTS", 12, minimum=1),
        # Threads of `membership worker` applying Stripe events, so their reads wait in parallel
        # (PostgreSQL only; each holds a connection of the pool, and STRIPE_READS_PER_SECOND
        # spaces the reads of them all).
        "WORKER_THREADS": env.int("WORKER_THREADS", 1, minimum=1, maximum=MAX_WORKER_THREADS),
        "PAST_DUE_GRACE_DAYS": env.int("PAST_DUE_GRACE_DAYS", 7),
    }


def _giving(env: _Env) -> dict[str, Any]:
    """One-time gifts, fee cover, receipts and statements (DESIGN.md "Giving")."""
    fee_percent = env.str("FEE_PERCENT", "2.9").strip()
    try:
        percent = Decimal(fee_percent)
    except InvalidOperation:
        raise ConfigError(f"FEE_PERCENT must be a percentage like 2.9, got {fee_percent!r}") from None
    if not Decimal(0) <= percent < Decimal(50):
        raise ConfigError(f"FEE_PERCENT must be at least 0 and under 50, got {fee_percent!r}")
    suggested = env.str("GIVE_SUGGESTED_AMOUNTS", "1000,2500,5000,10000")
    try:
        amounts = [int(a) for a in suggested.split(",") if a.strip()]
    except ValueError:
        raise ConfigError("GIVE_SUGGESTED_AMOUNTS must be amounts in cents separated by commas, "
                          f"like 1000,2500, got {suggested!r}") from None
    month_price = env.str("ONE_TIME_MONTH_PRICE", "")
    return {
        # The monthly plan's amount when empty (resolved when a gift is made).
        "ONE_TIME_MONTH_PRICE": _int("ONE_TIME_MONTH_PRICE", month_price, 1) if month_price.strip() else None,
        "ONE_TIME_MAX_MONTHS": env.int("ONE_TIME_MAX_MONTHS", 12, minimum=1),
        "GIVE_MIN_AMOUNT": env.int("GIVE_MIN_AMOUNT", 100, minimum=50),
        # The smallest gift in particular currencies (`chf:500,jpy:500`); others take GIVE_MIN_AMOUNT.
        "GIVE_MIN_AMOUNTS": _amounts_per_currency("GIVE_MIN_AMOUNTS", env.str("GIVE_MIN_AMOUNTS")),
        "GIVE_SUGGESTED_AMOUNTS": amounts,
        "FEE_PERCENT": percent,
        "FEE_FIXED": env.int("FEE_FIXED", 30),
        "RECEIPT_ORG_NAME": env.str("RECEIPT_ORG_NAME", "The Newsroom"),
        "RECEIPT_TAX_ID": env.str("RECEIPT_TAX_ID", ""),
        "RECEIPT_STATEMENT": env.str("RECEIPT_STATEMENT", "No goods or services were provided in exchange for "
                                     "this contribution, other than the members' newsletter."),
        "FISCAL_YEAR_START_MONTH": _month(env.int("FISCAL_YEAR_START_MONTH", 1, minimum=1)),
        # A term membership's reminder goes out this many days before the term ends.
        "TERM_REMINDER_DAYS": env.int("TERM_REMINDER_DAYS", 14, minimum=1),
    }


def _amounts_per_currency(name: str, raw: str) -> dict[str, int]:
    """`chf:500,eur:200` as {currency: minor units}; a bad entry's error quotes it."""
    amounts: dict[str, int] = {}
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        code, _, value = (piece.strip() for piece in entry.partition(":"))
        if not re.fullmatch(r"[a-zA-Z]{3}", code) or not value.isdigit() or int(value) < 1:
            raise ConfigError(f"{name} must be CODE:AMOUNT pairs in minor units separated by commas, "
                              f"like chf:500,eur:200, got {entry!r}")
        amounts[code.lower()] = int(value)
    return amounts


def _month(value: int) -> int:
    if value > 12:
        raise ConfigError(f"FISCAL_YEAR_START_MONTH must be a month from 1 to 12, got {value}")
    return value


def _currencies(env: _Env) -> dict[str, Any]:
    """The currencies readers pay in and the one revenue is reported in (DESIGN.md "Currencies").

    `FX_RATES` is the value of one unit of each currency in the reporting currency, used where
    Stripe applied no rate (recurring-revenue projections): `eur:1.08,chf:1.13` with USD reporting.
    """
    raw = env.str("CURRENCIES", "usd")
    currencies = list(dict.fromkeys(code.strip().lower() for code in raw.split(",") if code.strip()))
    for code in currencies:
        if not CURRENCY_CODE.match(code):
            raise ConfigError(f"CURRENCIES must be ISO 4217 codes separated by commas, like usd,eur,chf, got {code!r}")
    if not currencies:
        raise ConfigError(f"CURRENCIES must name at least one currency, like usd, got {raw!r}")
    # Empty means the default, as .env.example leaves it.
    reporting = env.str("REPORTING_CURRENCY").strip().lower() or currencies[0]
    rates = _fx_rates(env.str("FX_RATES"))
    if not CURRENCY_CODE.match(reporting):
        raise ConfigError(f"REPORTING_CURRENCY must be an ISO 4217 code like usd, got {reporting!r}")
    if reporting not in currencies and reporting not in rates:
        raise ConfigError(f"REPORTING_CURRENCY={reporting} is neither in CURRENCIES ({','.join(currencies)}) nor in "
                          f"FX_RATES: add it to CURRENCIES, or choose one of {','.join(currencies)}")
    if rates.get(reporting, Decimal(1)) != 1:
        raise ConfigError(f"FX_RATES gives the reporting currency {reporting} the rate {rates[reporting]}: rates are "
                          f"the value of one unit in {reporting}, so its own is 1 (or leave it out)")
    return {"CURRENCIES": currencies, "REPORTING_CURRENCY": reporting, "FX_RATES": rates}


def _fx_rates(raw: str) -> dict[str, Decimal]:
    """`eur:1.08,chf:1.13` as exact decimals; a bad entry's error quotes it and shows the form."""
    rates: dict[str, Decimal] = {}
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        code, _, value = (piece.strip() for piece in entry.partition(":"))
        try:
            rate = Decimal(value)
        except InvalidOperation:
            rate = Decimal("NaN")
        if not CURRENCY_CODE.match(code.lower()) or not rate.is_finite() or rate <= 0:
            raise ConfigError("FX_RATES must be CODE:RATE pairs separated by commas (the value of one unit of that "
                              f"currency in REPORTING_CURRENCY, above 0), like eur:1.08,chf:1.13, got {entry!r}")
        rates[code.lower()] = rate
    return rates


def _languages(env: _Env) -> dict[str, Any]:
    """The languages reader pages and emails are offered in (DESIGN.md "Languages and accessibility")."""
    raw = env.str("LANGUAGES", "en,fr,ar")
    codes = list(dict.fromkeys(code.strip().lower() for code in raw.split(",") if code.strip()))
    for code in codes:
        if not LANGUAGE_CODE.match(code):
            raise ConfigError(f"LANGUAGES must be language codes separated by commas, like en,fr,ar, got {code!r}")
        if code != SOURCE_LANGUAGE and not (TRANSLATIONS_DIR / code / "LC_MESSAGES" / "messages.mo").exists():
            raise ConfigError(f"LANGUAGES names {code!r}, which has no compiled catalog in service/translations/ "
                              "(run `make translations`)")
    if SOURCE_LANGUAGE not in codes:
        raise ConfigError(f"LANGUAGES must include {SOURCE_LANGUAGE} (the pages' own language, and the fallback), got {raw!r}")
    return {"LANGUAGES": codes}


def _mail_and_newsletters(env: _Env) -> dict[str, Any]:
    """Where emails go, and which provider keeps the newsletter lists."""
    provider = env.choice("NEWSLETTER_PROVIDER", "local", ("local", "mailchimp"))
    mail_url = env.str("MAIL_URL", "console")
    given = mail_url.strip()
    if given != "console" and not given.startswith(("smtp://", "smtps://")):
        raise ConfigError("MAIL_URL must be smtp://HOST:PORT, smtps://HOST:PORT or console, "
                          f"got {given.split(':')[0]!r}")
    removal = env.choice("MAILCHIMP_REMOVAL", "archive", ("archive", "unsubscribe"))
    api_key, api_base = env.str("MAILCHIMP_API_KEY"), env.str("MAILCHIMP_API_BASE")
    if provider == "mailchimp" and not api_key:
        raise ConfigError("NEWSLETTER_PROVIDER=mailchimp needs MAILCHIMP_API_KEY")
    if provider == "mailchimp" and not api_base and "-" not in api_key:
        raise ConfigError("MAILCHIMP_API_KEY should end in its data centre (like ...-us6), or set MAILCHIMP_API_BASE")
    return {
        "MAIL_URL": mail_url,
        "MAIL_FROM": env.str("MAIL_FROM", "Membership <members@localhost>"),
        "NEWSLETTER_PROVIDER": provider,
        "MAILCHIMP_API_KEY": api_key,
        "MAILCHIMP_LIST_ID": env.str("MAILCHIMP_LIST_ID"),
        "MAILCHIMP_API_BASE": api_base,
        "MAILCHIMP_REMOVAL": removal,
    }


def _outbox(env: _Env) -> dict[str, Any]:
    """Delivery of queued emails and list changes: retries, backoff and retention."""
    return {
        # 15 attempts with the default backoff span about a day and a half of provider outage.
        "OUTBOX_MAX_ATTEMPTS": env.int("OUTBOX_MAX_ATTEMPTS", 15, minimum=1),
        "OUTBOX_BACKOFF_SECONDS": env.int("OUTBOX_BACKOFF_SECONDS", 60, minimum=1),
        "OUTBOX_BACKOFF_MAX_SECONDS": env.int("OUTBOX_BACKOFF_MAX_SECONDS", 6 * 3600, minimum=1),
        # Delivered outbox messages (which may hold addresses) are deleted after this many days.
        "OUTBOX_RETENTION_DAYS": env.int("OUTBOX_RETENTION_DAYS", 7, minimum=1),
        "OUTBOX_DELIVER_INLINE": env.bool("OUTBOX_DELIVER_INLINE", True),
    }


def _integrations(env: _Env, production: bool) -> dict[str, Any]:
    """Outgoing webhooks to the newsroom's other systems (DESIGN.md "Outgoing webhooks"), and
    where staff alerts go (DESIGN.md "Insight and retention")."""
    hour = env.int("ALERT_DAILY_HOUR", 7)
    if hour > 23:
        raise ConfigError(f"ALERT_DAILY_HOUR must be an hour of the day (UTC) from 0 to 23, got {hour}")
    return {
        # Endpoints on loopback, private or link-local addresses are refused (checked at registration
        # and again at each delivery) unless this is true: development, tests, an internal network.
        "WEBHOOK_ALLOW_PRIVATE_URLS": env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", False),
        # Where staff alerts are emailed (the daily summary, failed-payment spikes, dead Stripe events,
        # an endpoint disabled after failing for days); empty: every active admin.
        "ALERT_EMAIL": env.str("ALERT_EMAIL").strip() or None,
        # A Slack-compatible incoming webhook that gets the same alerts as `{"text": ...}`, counts only.
        # Its address is checked like an outgoing webhook's at each delivery (WEBHOOK_ALLOW_PRIVATE_URLS).
        "ALERT_WEBHOOK_URL": _alert_webhook_url(env.str("ALERT_WEBHOOK_URL").strip(), production),
        "ALERT_DAILY_HOUR": hour,
        # A spike: at least this many failed payments in the last hour, and at least three times the
        # hourly average of the seven days before it.
        "ALERT_FAILED_PAYMENT_SPIKE": env.int("ALERT_FAILED_PAYMENT_SPIKE", 10, minimum=1),
    }


def _alert_webhook_url(url: str, production: bool) -> str | None:
    """The URL's form only: its addresses are resolved and checked when an alert is sent."""
    if not url:
        return None
    allowed = ("https://",) if production else ("https://", "http://")
    if not url.lower().startswith(allowed) or len(url) <= len(url.split("//", 1)[0]) + 2:
        raise ConfigError("ALERT_WEBHOOK_URL must be an https:// URL (a Slack incoming webhook: "
                          "https://hooks.slack.com/services/...)" + ("" if production else " or, outside production, http://"))
    return url


def _security(env: _Env, production: bool, base_url: str) -> dict[str, Any]:
    """Cookies, proxies, rate limits and request limits."""
    # Cookies are Secure whenever the service is served over HTTPS (always in production).
    secure_cookies = production or base_url.startswith("https://")
    return {
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        # How many proxies (load balancer, reverse proxy) stand in front: their X-Forwarded-For/-Proto
        # are trusted that many hops deep, so rate limits and consent records see the reader's address.
        "TRUSTED_PROXIES": env.int("TRUSTED_PROXIES", 0),
        # When set, GET /metrics needs `Authorization: Bearer <METRICS_TOKEN>`.
        "METRICS_TOKEN": env.str("METRICS_TOKEN"),
        "RATELIMIT_ENABLED": env.bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": env.str("RATELIMIT_STORAGE_URI", "memory://"),
        "WTF_CSRF_TIME_LIMIT": 3600 * 4,
        "MAX_CONTENT_LENGTH": env.int("MAX_CONTENT_LENGTH", 1024 * 1024, minimum=1024),
    }


def _sign_in(env: _Env) -> dict[str, Any]:
    """Emailed sign-in for readers, and password sign-in for staff."""
    return {
        # Emailed sign-in: the link and code live this long; a used link keeps working for a
        # few uses within the reuse window (mail scanners open links before the reader does).
        "SIGNIN_TOKEN_MINUTES": env.int("SIGNIN_TOKEN_MINUTES", 15, minimum=1),
        "SIGNIN_REUSE_MINUTES": env.int("SIGNIN_REUSE_MINUTES", 10, minimum=1),
        "SIGNIN_LINK_MAX_USES": env.int("SIGNIN_LINK_MAX_USES", 5, minimum=1),
        "SIGNIN_CODE_MAX_ATTEMPTS": env.int("SIGNIN_CODE_MAX_ATTEMPTS", 5, minimum=1),
        # Wrong codes per address across all its tokens within the window; past that only the link works.
        "SIGNIN_CODE_MAX_FAILURES": env.int("SIGNIN_CODE_MAX_FAILURES", 10, minimum=1),
        "SIGNIN_CODE_WINDOW_HOURS": env.int("SIGNIN_CODE_WINDOW_HOURS", 24, minimum=1),
        # A reader's session ends this many days after they signed in.
        "READER_SESSION_DAYS": env.int("READER_SESSION_DAYS", 30, minimum=1),
        # Staff console sign-in: lockout after repeated failures, and re-authentication for
        # actions that touch billing when the last sign-in is older than this.
        "STAFF_MAX_FAILED_LOGINS": env.int("STAFF_MAX_FAILED_LOGINS", 5, minimum=1),
        "STAFF_LOCKOUT_MINUTES": env.int("STAFF_LOCKOUT_MINUTES", 15, minimum=1),
        "STAFF_RECENT_LOGIN_MINUTES": env.int("STAFF_RECENT_LOGIN_MINUTES", 15, minimum=1),
        "STAFF_LOGIN_RATE_LIMIT": env.str("STAFF_LOGIN_RATE_LIMIT", "10 per minute"),
    }


def _make_local_dirs(config: Mapping[str, Any]) -> None:
    """Create the folders of the local SQLite files in use, so `membership serve` starts in a fresh directory.

    Only once every setting is valid, and never in tests: test settings write nothing to disk
    (as with the secret key above), and the suite names its own files.
    """
    if config["ENV"] == "test":
        return
    folders = []
    if config["DATABASE_URL"] == _default_database_url():
        folders.append(("the default database (MEMBERSHIP_INSTANCE_DIR)", INSTANCE_DIR))
    # The sandbox opens its state file when the server starts, and SQLite does not create folders.
    sandbox_db = str(config["SANDBOX_DB"])
    if config["BILLING_BACKEND"] == "sandbox" and sandbox_db not in ("", ":memory:"):
        folders.append(("SANDBOX_DB", Path(sandbox_db).parent))
    for purpose, folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create the folder {folder} for {purpose}: {exc.strerror}") from None


def default_web_concurrency() -> int:
    """gunicorn's worker count when WEB_CONCURRENCY is unset (docker/gunicorn.conf.py uses the same formula)."""
    return (os.cpu_count() or 1) * 2 + 1


def _weak_secret_key(key: str) -> bool:
    """Too short, or trivially repetitive ("ssss...", "abcabca...", a few distinct characters)."""
    periodic = any(key[period:] == key[:-period] for period in range(1, len(key) // 2 + 1))
    return len(key) < MIN_SECRET_KEY_LENGTH or periodic or len(set(key)) < 8


def _production_checks(env: _Env, config: Mapping[str, Any]) -> None:
    """What production refuses to run with; each refusal names the setting to fix (docs/operations.md, Security)."""
    if config["ENV"] != "production":
        return
    if _weak_secret_key(str(config["SECRET_KEY"])):
        raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} random characters in production "
                          "(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')")
    if config["MAIL_URL"].strip() == "console":
        raise ConfigError("MAIL_URL=console prints every sign-in link and code to the log: "
                          "production needs MAIL_URL=smtp://... or smtps://...")
    if TEST_KEY.match(str(config["STRIPE_SECRET_KEY"])) and not env.bool("ALLOW_TEST_KEYS", False):
        raise ConfigError("STRIPE_SECRET_KEY is a test key (sk_test_...): production takes no payments with it; "
                          "set ALLOW_TEST_KEYS=true if this is on purpose (a staging site)")
    workers = env.int("WEB_CONCURRENCY", default_web_concurrency(), minimum=1)
    storage = str(config["RATELIMIT_STORAGE_URI"])
    if config["RATELIMIT_ENABLED"] and storage.startswith("memory://") and workers > 1:
        raise ConfigError(f"RATELIMIT_STORAGE_URI={storage} keeps rate-limit counters in each process, and "
                          f"WEB_CONCURRENCY gives gunicorn {workers} workers: set RATELIMIT_STORAGE_URI=redis://HOST:6379 "
                          "(or WEB_CONCURRENCY=1)")
    if not config["METRICS_TOKEN"]:
        raise ConfigError("METRICS_TOKEN is not set: in production GET /metrics (member counts, webhook and outbox "
                          "figures) needs a bearer token; set METRICS_TOKEN to a long random string for Prometheus")
    if config["TRUSTED_PROXIES"] > MAX_TRUSTED_PROXIES:
        raise ConfigError(f"TRUSTED_PROXIES must be between 0 and {MAX_TRUSTED_PROXIES} (the proxies in front), "
                          f"got {config['TRUSTED_PROXIES']}")


# The offers a reader who is cancelling may take instead (DESIGN.md "Insight and retention").
RETENTION_OFFER_NAMES = ("pause", "lower_amount", "yearly")


def _retention(env: _Env) -> dict[str, Any]:
    """The cancel flow's offers: `pause,lower_amount,yearly` (all three) by default; empty offers none."""
    raw = env.str("RETENTION_OFFERS", ",".join(RETENTION_OFFER_NAMES))
    offers = [name.strip().lower() for name in raw.split(",") if name.strip()]
    unknown = [name for name in offers if name not in RETENTION_OFFER_NAMES]
    if unknown:
        raise ConfigError(f"RETENTION_OFFERS: unknown offer {unknown[0]!r}; choose from {', '.join(RETENTION_OFFER_NAMES)}")
    return {"RETENTION_OFFERS": list(dict.fromkeys(offers))}


def _insight(env: _Env) -> dict[str, Any]:
    """How the dashboard's twelve-month figures are kept (domain/insight/snapshots.py)."""
    return {
        # When computing them takes at least this long (seconds), their result is stored and served...
        "INSIGHT_CACHE_AFTER_SECONDS": env.int("INSIGHT_CACHE_AFTER_SECONDS", 5),
        # ...for this long, the worker computing them again after half of it; 0: always live.
        "INSIGHT_CACHE_SECONDS": env.int("INSIGHT_CACHE_SECONDS", 900),
    }


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the settings: environment first, then explicit overrides (tests)."""
    # String overrides are read exactly like environment variables; others are final values.
    overrides = dict(overrides or {})
    values = dict(os.environ if environ is None else environ)
    values.update({k: v for k, v in overrides.items() if isinstance(v, str)})
    env = _Env(values)

    config = _core(env)
    production, base_url = config["ENV"] == "production", config["BASE_URL"]
    config.update(_billing(env, production, base_url))
    config.update(_mail_and_newsletters(env))
    config.update(_giving(env))
    config.update(_currencies(env))
    config.update(_outbox(env))
    config.update(_integrations(env, production))
    config.update(_retention(env))
    config.update(_insight(env))
    config.update(_security(env, production, base_url))
    config.update(_sign_in(env))
    config.update(_languages(env))
    config.update({k: v for k, v in overrides.items() if not isinstance(v, str)})
    _production_checks(env, config)
    _make_local_dirs(config)
    return config
