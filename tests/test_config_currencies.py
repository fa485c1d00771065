"""CURRENCIES, REPORTING_CURRENCY and FX_RATES: read, defaulted, and refused with a message
that says what to fix."""
from __future__ import annotations

from decimal import Decimal

import pytest

from service.config import ConfigError, load_config


def config(**env: str):
    return load_config(environ={"MEMBERSHIP_ENV": "test", **env})


def test_defaults_to_us_dollars_with_no_rates():
    settings = config()
    assert (settings["CURRENCIES"], settings["REPORTING_CURRENCY"], settings["FX_RATES"]) == (["usd"], "usd", {})


def test_reads_codes_and_exact_rates():
    settings = config(CURRENCIES="usd, EUR,chf,eur", FX_RATES="eur:1.08, chf:1.13 ,gbp:1.27", REPORTING_CURRENCY="")
    assert settings["CURRENCIES"] == ["usd", "eur", "chf"]
    assert settings["REPORTING_CURRENCY"] == "usd"  # empty (as in .env.example): the first listed
    assert settings["FX_RATES"] == {"eur": Decimal("1.08"), "chf": Decimal("1.13"), "gbp": Decimal("1.27")}
    assert all(isinstance(rate, Decimal) for rate in settings["FX_RATES"].values())


def test_the_reporting_currency_may_be_one_that_only_has_a_rate():
    settings = config(CURRENCIES="eur,chf", REPORTING_CURRENCY="usd", FX_RATES="usd:1,eur:1.08")
    assert settings["REPORTING_CURRENCY"] == "usd"


@pytest.mark.parametrize(("env", "message"), [
    ({"CURRENCIES": "us,eur"}, "CURRENCIES must be ISO 4217 codes"),
    ({"CURRENCIES": " , "}, "CURRENCIES must name at least one currency"),
    ({"REPORTING_CURRENCY": "gbp"}, "REPORTING_CURRENCY=gbp is neither in CURRENCIES"),
    ({"REPORTING_CURRENCY": "dollars"}, "REPORTING_CURRENCY must be an ISO 4217 code"),
    ({"FX_RATES": "eur=1.08"}, "FX_RATES must be CODE:RATE pairs"),
    ({"FX_RATES": "eur:abc"}, "got 'eur:abc'"),
    ({"FX_RATES": "eur:0"}, "above 0"),
    ({"FX_RATES": "eur:NaN"}, "FX_RATES must be CODE:RATE pairs"),
    ({"FX_RATES": "usd:1.2"}, "its own is 1"),
])
def test_bad_values_say_what_to_fix(env, message):
    with pytest.raises(ConfigError, match=message):
        config(**env)
