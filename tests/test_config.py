"""Settings read from an explicit environment, as start-up reads them."""
from __future__ import annotations

from pathlib import Path

import pytest

from service import config as config_module
from service.config import SANDBOX_WEBHOOK_SECRET, ConfigError, load_config

# A test environment needs no SECRET_KEY and writes nothing under instance/.
BASE = {"MEMBERSHIP_ENV": "test"}
# A production set-up that passes every start-up check (tests/test_config_production.py covers the refusals).
PRODUCTION = {"MEMBERSHIP_ENV": "production", "SECRET_KEY": "k3Jq9vX2mP7wL4tR8zN1bY6cF0hD5sG-aE_uTq",
              "STRIPE_WEBHOOK_SECRET": "whsec_live", "MAIL_URL": "smtp://mail.example.org:587",
              "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0", "STRIPE_SECRET_KEY": "sk_live_x", "METRICS_TOKEN": "m" * 32}


@pytest.fixture(autouse=True)
def instance_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings outside test mode create instance/ for the default SQLite files: keep it out of the checkout."""
    instance = tmp_path / "instance"
    monkeypatch.setattr(config_module, "INSTANCE_DIR", instance)
    return instance


def config(**env: str) -> dict:
    return load_config(environ={**BASE, **env})


def test_defaults_run_offline_on_sqlite_with_the_sandbox():
    settings = config()
    assert settings["DATABASE_URL"] == f"sqlite:///{config_module.INSTANCE_DIR / 'membership.sqlite3'}"
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
    # os.environ.get("...") and the readers env.str/int/bool/choice("...").
    pattern = r'\b(?:get|str|int|bool|choice)\("([A-Z][A-Z0-9_]+)"'
    read = set(re.findall(pattern, (root / "service" / "config.py").read_text()))
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (root / ".env.example").read_text(), re.MULTILINE))
    assert read, "no settings found: the pattern is stale"
    assert read - listed == set(), "settings missing from .env.example"


# --- folders for local SQLite files -------------------------------------------------


def test_the_sandbox_state_folder_is_created_when_the_sandbox_runs(tmp_path):
    state = tmp_path / "not" / "yet" / "sandbox.sqlite3"
    load_config(environ={"SECRET_KEY": "k", "DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}",
                         "SANDBOX_DB": str(state)})
    assert state.parent.is_dir()
    assert not state.exists()  # only its folder: the sandbox creates the file


def test_the_sandbox_state_folder_is_left_alone_with_stripe(tmp_path):
    state = tmp_path / "unused" / "sandbox.sqlite3"
    settings = load_config(environ={"SECRET_KEY": "k", "DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}",
                                    "STRIPE_SECRET_KEY": "sk_test_abc", "SANDBOX_DB": str(state)})
    assert settings["BILLING_BACKEND"] == "stripe"
    assert not state.parent.exists()


def test_the_instance_folder_is_created_for_the_default_database_and_sandbox(instance_dir):
    settings = load_config(environ={"SECRET_KEY": "k"})
    assert settings["DATABASE_URL"] == f"sqlite:///{instance_dir / 'membership.sqlite3'}"
    assert Path(settings["SANDBOX_DB"]).parent == instance_dir
    assert instance_dir.is_dir() and list(instance_dir.iterdir()) == []


def test_test_settings_create_no_folders(tmp_path):
    config(SANDBOX_DB=str(tmp_path / "state" / "sandbox.sqlite3"))
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_created_is_a_configuration_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="SANDBOX_DB"):
        load_config(environ={"SECRET_KEY": "k", "DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}",
                             "SANDBOX_DB": str(tmp_path / "file" / "sandbox.sqlite3")})


def test_give_minimums_per_currency_are_read_and_a_bad_entry_says_what_to_fix():
    assert load_config(environ={"MEMBERSHIP_ENV": "test", "GIVE_MIN_AMOUNTS": "chf:500, EUR:200"})["GIVE_MIN_AMOUNTS"] == {
        "chf": 500, "eur": 200}
    with pytest.raises(ConfigError, match=r"GIVE_MIN_AMOUNTS must be CODE:AMOUNT pairs.*'chf:5\.00'"):
        load_config(environ={"MEMBERSHIP_ENV": "test", "GIVE_MIN_AMOUNTS": "chf:5.00"})
