"""RETENTION_OFFERS: the cancel flow's offers, all three by default, checked at start."""
from __future__ import annotations

import pytest

from service.config import ConfigError, load_config


def test_all_three_offers_by_default_and_a_chosen_few():
    assert load_config(environ={})["RETENTION_OFFERS"] == ["pause", "lower_amount", "yearly"]
    assert load_config(environ={"RETENTION_OFFERS": " Yearly, pause ,yearly"})["RETENTION_OFFERS"] == ["yearly", "pause"]
    assert load_config(environ={"RETENTION_OFFERS": ""})["RETENTION_OFFERS"] == []


def test_an_unknown_offer_stops_start_up_naming_it():
    with pytest.raises(ConfigError, match="RETENTION_OFFERS: unknown offer 'discount'"):
        load_config(environ={"RETENTION_OFFERS": "pause,discount"})
