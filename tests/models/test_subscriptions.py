"""Plans are seeded by the migration; Stripe ids are unique."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.models import Interval, Plan
from tests.factories import make_member, make_subscription


def test_the_migration_seeds_the_three_plans(db_session):
    plans = {p.code: p for p in db_session.scalars(select(Plan))}
    assert set(plans) == {"monthly-5", "yearly-50", "monthly-pwyw"}
    seeded = {code: (p.amount, p.currency, p.interval, p.pay_what_you_want) for code, p in plans.items()}
    assert seeded["monthly-5"] == (500, "usd", Interval.MONTH, False)
    assert seeded["yearly-50"] == (5000, "usd", Interval.YEAR, False)
    assert seeded["monthly-pwyw"][1:] == ("usd", Interval.MONTH, True)
    assert plans["monthly-pwyw"].min_amount == 500
    assert all(p.active for p in plans.values())


def test_stripe_subscription_id_is_unique(db_session):
    first, second = make_member(), make_member()
    make_subscription(first, stripe_subscription_id="sub_shared")
    with pytest.raises(IntegrityError), db_session.begin_nested():
        make_subscription(second, stripe_subscription_id="sub_shared")
