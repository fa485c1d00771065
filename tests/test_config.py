"""Settings read from an explicit environment, as start-up reads them."""
from __future__ import annotations

import pytest

from service.config import INSTANCE_DIR, SANDBOX_WEBHOOK_SECRET, ConfigError, load_config

# A test environment needs no SECRET_KEY and writes nothing under instance/.
BASE = {"MEMBERSHIP_ENV": "test"}
PRODUCTION = {"MEMBERSHIP_ENV": "production", "SECRET_KEY": "s" * 40, "STRIPE_WEBHOOK_SECRET": "whsec_live",
              "STRIPE_SECRET_KEY": "sk_live_x"}


def config(**env: str) -> dict:
    return load_config(environ={**BASE, **env})


def test_defaults_run_offline_on_sqlite_with_the_sandbox():
    settings = config()
    assert settings["DATABASE_URL"] == f"sqlite:///{INSTANCE_DIR / 'membership.sqlite3'}"
    assert settings["BILLING_BACKEND"] == "sandbox"
    assert settings["STRIPE_WEBHOOK_SECRETS"] == [SANDBOX_WEBHOOK_SECRET]
    assert settings["STRIPE_API_BASE"] == "http://127.0.0.1:5000/_sandbox"
    assert settings["PAST_DUE_GRACE_DAYS"] == 7
    assert settings["RATELIMIT_ENABLED"] is True
    assert settings["SESSION_COOKIE_SECURE"] is False


def test_a_stripe_key_selects_the_stripe_backend():
    settings = config(STRIPE_SECRET_KEY="sk_test_abc", STRIPE_WEBHOOK_SECRET="whsec_a")
    assert settings["BILLING_BACKEND"] == "stripe"
    assert settings["STRIPE_SECRET_KEY"] == "sk_test_abc"
    assert settings["STRIPE_API_BASE"] == ""  # the SDK's own default: api.stripe.com


@pytest.mark.parametrize(
    "given",
    ["postgresql://u:p@db:5432/members", "postgres://u:p@db:5432/members", "postgresql+psycopg://u:p@db:5432/members"],
)
def test_postgres_urls_are_read_as_psycopg3(given):
    assert config(DATABASE_URL=given)["DATABASE_URL"] == "postgresql+psycopg://u:p@db:5432/members"


def test_webhook_secrets_are_comma_separated_for_rotation():
    settings = config(STRIPE_WEBHOOK_SECRET=" whsec_new , whsec_old,,")
    assert settings["STRIPE_WEBHOOK_SECRETS"] == ["whsec_new", "whsec_old"]


def test_production_names_every_missing_setting():
    with pytest.raises(ConfigError) as caught:
        load_config(environ={"MEMBERSHIP_ENV": "production", "STRIPE_SECRET_KEY": "sk_live_x"})
    assert "SECRET_KEY" in str(caught.value)
    assert "STRIPE_WEBHOOK_SECRET" in str(caught.value)


def test_production_refuses_the_sandbox():
    env = {k: v for k, v in PRODUCTION.items() if k != "STRIPE_SECRET_KEY"}
    with pytest.raises(ConfigError, match="STRIPE_SECRET_KEY"):
        load_config(environ=env)


def test_production_with_its_settings_starts_with_secure_cookies_and_json_logs():
    settings = load_config(environ=PRODUCTION)
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["REMEMBER_COOKIE_SECURE"] is True
    assert settings["LOG_FORMAT"] == "json"


@pytest.mark.parametrize("base_url, secure", [("https://members.example.org", True), ("http://localhost:5000", False)])
def test_cookies_are_secure_when_served_over_https(base_url, secure):
    settings = config(BASE_URL=base_url)
    assert settings["SESSION_COOKIE_SECURE"] is secure
    assert settings["REMEMBER_COOKIE_SECURE"] is secure


@pytest.mark.parametrize(
    "name, value",
    [
        ("PAST_DUE_GRACE_DAYS", "abc"),
        ("PAST_DUE_GRACE_DAYS", "-1"),
        ("RATELIMIT_ENABLED", "maybe"),
        ("BILLING_BACKEND", "paypal"),
        ("MEMBERSHIP_ENV", "staging"),
        ("LOG_FORMAT", "xml"),
        ("NEWSLETTER_PROVIDER", "sendgrid"),
        ("OUTBOX_MAX_ATTEMPTS", "0"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(name, value):
    with pytest.raises(ConfigError) as caught:
        config(**{name: value})
    assert name in str(caught.value)
    assert value in str(caught.value)


def test_the_stripe_backend_without_a_key_is_refused():
    with pytest.raises(ConfigError, match="STRIPE_SECRET_KEY"):
        config(BILLING_BACKEND="stripe")


def test_explicit_overrides_beat_the_environment():
    settings = load_config({"PAST_DUE_GRACE_DAYS": "3", "RATELIMIT_ENABLED": False},
                           environ={**BASE, "PAST_DUE_GRACE_DAYS": "10"})
    assert settings["PAST_DUE_GRACE_DAYS"] == 3
    assert settings["RATELIMIT_ENABLED"] is False


def test_env_example_lists_every_setting_the_service_reads():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    read = set(re.findall(r'get\("([A-Z][A-Z0-9_]+)"', (root / "service" / "config.py").read_text()))
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (root / ".env.example").read_text(), re.MULTILINE))
    assert read, "no settings found: the pattern is stale"
    assert read - listed == set(), "settings missing from .env.example"
