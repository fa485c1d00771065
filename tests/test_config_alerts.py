"""The staff alerts' settings: ALERT_WEBHOOK_URL's form (https in production), ALERT_DAILY_HOUR,
ALERT_FAILED_PAYMENT_SPIKE, and their defaults."""
from __future__ import annotations

import pytest

from service.config import ConfigError, load_config

BASE = {"MEMBERSHIP_ENV": "test", "DATABASE_URL": "sqlite://"}
PRODUCTION = {"MEMBERSHIP_ENV": "production", "SECRET_KEY": "k3Y-" + "abcdefghijklmnopqrstuvwxyz0123456789",
              "STRIPE_WEBHOOK_SECRET": "whsec_x", "STRIPE_SECRET_KEY": "sk_live_x", "MAIL_URL": "smtp://mail:25",
              "METRICS_TOKEN": "t" * 40, "DATABASE_URL": "sqlite://", "WEB_CONCURRENCY": "1"}


def test_defaults():
    config = load_config(environ=BASE)
    assert config["ALERT_WEBHOOK_URL"] is None
    assert config["ALERT_DAILY_HOUR"] == 7
    assert config["ALERT_FAILED_PAYMENT_SPIKE"] == 10


def test_values_are_read():
    config = load_config(environ={**BASE, "ALERT_WEBHOOK_URL": " https://hooks.slack.com/services/T/B/X ",
                                  "ALERT_DAILY_HOUR": "0", "ALERT_FAILED_PAYMENT_SPIKE": "25"})
    assert config["ALERT_WEBHOOK_URL"] == "https://hooks.slack.com/services/T/B/X"
    assert (config["ALERT_DAILY_HOUR"], config["ALERT_FAILED_PAYMENT_SPIKE"]) == (0, 25)
    assert load_config(environ={**BASE, "ALERT_WEBHOOK_URL": "http://127.0.0.1:9000/hook"})["ALERT_WEBHOOK_URL"]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("ALERT_WEBHOOK_URL", "hooks.slack.com/services/T/B/X", "ALERT_WEBHOOK_URL must be an https:// URL"),
    ("ALERT_WEBHOOK_URL", "https://", "ALERT_WEBHOOK_URL must be an https:// URL"),
    ("ALERT_WEBHOOK_URL", "ftp://example.org/x", "ALERT_WEBHOOK_URL must be an https:// URL"),
    ("ALERT_DAILY_HOUR", "24", r"ALERT_DAILY_HOUR must be an hour of the day \(UTC\) from 0 to 23, got 24"),
    ("ALERT_DAILY_HOUR", "seven", "ALERT_DAILY_HOUR must be a whole number"),
    ("ALERT_FAILED_PAYMENT_SPIKE", "0", "ALERT_FAILED_PAYMENT_SPIKE must be at least 1"),
])
def test_bad_values_are_refused_by_name(name, value, message):
    with pytest.raises(ConfigError, match=message):
        load_config(environ={**BASE, name: value})


def test_production_wants_https():
    with pytest.raises(ConfigError, match="ALERT_WEBHOOK_URL must be an https:// URL"):
        load_config(environ={**PRODUCTION, "ALERT_WEBHOOK_URL": "http://hooks.slack.com/services/T/B/X"})
    config = load_config(environ={**PRODUCTION, "ALERT_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X"})
    assert config["ALERT_WEBHOOK_URL"] == "https://hooks.slack.com/services/T/B/X"


def test_the_url_is_not_repeated_in_the_error():
    with pytest.raises(ConfigError) as refused:
        load_config(environ={**BASE, "ALERT_WEBHOOK_URL": "hooks.slack.com/services/T/B/SECRET"})
    assert "SECRET" not in str(refused.value)
