"""What production refuses to start with, each refusal naming the setting to fix.

Before these checks, production started with per-process rate-limit counters under several
gunicorn workers (every limit multiplied by the worker count), printed every sign-in link to the
log with MAIL_URL=console, signed sessions with any short key, took an sk_test_ key without a word,
and believed any number of proxy hops.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from service import config as config_module
from service.config import ConfigError, load_config
from tests.apps import fresh_app
from tests.test_config import PRODUCTION

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def instance_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    instance = tmp_path / "instance"
    monkeypatch.setattr(config_module, "INSTANCE_DIR", instance)
    return instance


def production(**changes: str | None) -> dict:
    env = {**PRODUCTION, **changes}
    return load_config(environ={k: v for k, v in env.items() if v is not None})


def refused(**changes: str | None) -> str:
    with pytest.raises(ConfigError) as caught:
        production(**changes)
    return str(caught.value)


def test_the_reference_production_settings_start():
    settings = production()
    assert settings["ENV"] == "production"


# --- rate limits ----------------------------------------------------------------------


def test_memory_rate_limits_with_several_workers_are_refused():
    """Risk: memory:// keeps one counter per process, so 5 workers allow 5x every limit (sign-in guesses)."""
    assert "RATELIMIT_STORAGE_URI" in refused(RATELIMIT_STORAGE_URI="memory://", WEB_CONCURRENCY="5")


def test_memory_rate_limits_with_gunicorns_default_worker_count_are_refused():
    """Unset WEB_CONCURRENCY means gunicorn's default, 2 x CPUs + 1: always more than one."""
    assert "RATELIMIT_STORAGE_URI" in refused(RATELIMIT_STORAGE_URI=None)


def test_memory_rate_limits_with_one_worker_or_limits_off_start():
    assert production(RATELIMIT_STORAGE_URI="memory://", WEB_CONCURRENCY="1")
    assert production(RATELIMIT_STORAGE_URI="memory://", WEB_CONCURRENCY="5", RATELIMIT_ENABLED="false")


def test_a_bad_worker_count_is_refused_naming_it():
    assert "WEB_CONCURRENCY" in refused(WEB_CONCURRENCY="many")


def test_the_compose_file_runs_redis_and_points_the_rate_limits_at_it():
    """Risk: the compose deployment ran several workers on memory:// counters (and now would not start)."""
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    assert "redis" in compose["services"]
    web = compose["services"]["web"]
    storage = web["environment"]["RATELIMIT_STORAGE_URI"]
    assert "redis://redis:6379" in storage
    assert "redis" in web["depends_on"]
    assert "memory://" not in storage


def test_the_compose_file_sends_no_console_mail_by_default():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    assert "console" not in compose["services"]["web"]["environment"]["MAIL_URL"].split("?")[0]


# --- proxies ---------------------------------------------------------------------------


@pytest.mark.parametrize("hops", ["6", "-1"])
def test_an_implausible_proxy_count_is_refused(hops):
    assert "TRUSTED_PROXIES" in refused(TRUSTED_PROXIES=hops)


def test_no_trusted_proxy_in_production_warns_at_start(database_url, capsys):
    """Risk: behind a load balancer with TRUSTED_PROXIES=0 every reader has the balancer's address and
    shares one rate-limit bucket; nothing said so."""
    env = {k: v for k, v in PRODUCTION.items() if k != "MEMBERSHIP_ENV"}
    with fresh_app(database_url, MEMBERSHIP_ENV="production", **env, TRUSTED_PROXIES="0"):
        pass
    assert '"event": "config.no_trusted_proxies"' in capsys.readouterr().err
    with fresh_app(database_url, MEMBERSHIP_ENV="production", **env, TRUSTED_PROXIES="1"):
        pass
    assert "config.no_trusted_proxies" not in capsys.readouterr().err


# --- secrets --------------------------------------------------------------------------


def test_console_mail_is_refused():
    """Risk: MAIL_URL=console prints every sign-in link and code into production's logs."""
    assert "MAIL_URL" in refused(MAIL_URL="console")
    assert "MAIL_URL" in refused(MAIL_URL=None)  # console is the default


@pytest.mark.parametrize("key", ["short-key", "s" * 40, "abcd" * 10, "0123456701234567012345670123456701"])
def test_a_short_or_repetitive_secret_key_is_refused(key):
    """Risk: anyone who guesses SECRET_KEY forges sessions, CSRF tokens and emailed links."""
    assert "SECRET_KEY" in refused(SECRET_KEY=key)


def test_a_stripe_test_key_needs_allow_test_keys():
    """Risk: a production site on sk_test_ takes 'payments' that never arrive."""
    message = refused(STRIPE_SECRET_KEY="sk_test_abc")
    assert "STRIPE_SECRET_KEY" in message and "ALLOW_TEST_KEYS" in message
    assert production(STRIPE_SECRET_KEY="sk_test_abc", ALLOW_TEST_KEYS="true")["STRIPE_SECRET_KEY"] == "sk_test_abc"


def test_the_debugger_is_refused_in_production(database_url):
    """Risk: `membership serve --debug` serves werkzeug's debugger, which runs code typed into an error page."""
    env = {k: v for k, v in PRODUCTION.items() if k != "MEMBERSHIP_ENV"}
    with fresh_app(database_url, MEMBERSHIP_ENV="production", **env) as app:
        result = app.test_cli_runner().invoke(args=["serve", "--debug", "--port", "1"])
    assert result.exit_code != 0
    assert "--debug" in result.output and "production" in result.output
