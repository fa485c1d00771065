"""The sign-in and join rate limits count a whole IPv6 /64 as one client.

The attack: one IPv6 subscriber is usually given a whole /64 (2**64 addresses), so limits
keyed by the full address gave them a fresh budget of code guesses and joins per address.
"""
from __future__ import annotations

from tests.apps import fresh_app, own_limiter


def test_sign_in_codes_from_one_ipv6_64_share_a_limit(database_url, db_session):
    """The attack: 11 code guesses in a minute, each from another address of the same /64."""
    with own_limiter(), fresh_app(database_url, RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False) as limited:
        client = limited.test_client()
        codes = [client.post("/signin/code", data={"email": f"n{i}@example.org", "code": "00000000"},
                             environ_base={"REMOTE_ADDR": f"2001:db8:5:6::{i + 1:x}"}).status_code
                 for i in range(11)]
        assert codes == [422] * 10 + [429]
        other = client.post("/signin/code", data={"email": "z@example.org", "code": "00000000"},
                            environ_base={"REMOTE_ADDR": "2001:db8:5:7::1"})
        assert other.status_code == 422, "the next /64 has its own budget"


def test_joins_from_one_ipv6_64_share_a_limit(database_url, db_session):
    """The attack: joins (each costs Stripe calls) from 11 addresses of one /64 within a minute."""
    with own_limiter(), fresh_app(database_url, RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False) as limited:
        client = limited.test_client()
        joins = [client.post("/join", data={"email": f"j{i}@example.org", "plan": "no-such-plan"},
                             environ_base={"REMOTE_ADDR": f"2001:db8:9:9::{i + 1:x}"}).status_code
                 for i in range(11)]
        assert joins[-1] == 429 and 429 not in joins[:10]
