"""Rate limits key IPv6 clients by their /64, not by their address.

The attack: one IPv6 subscriber is usually given a whole /64 (2**64 addresses), so limits
keyed by the full address gave them a fresh budget of sign-in codes and joins per address.
"""
from __future__ import annotations

import pytest

from service.extensions import client_key


@pytest.mark.parametrize(("remote", "key"), [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("::1", "::/64"),
])
def test_the_key_is_the_ipv4_address_or_the_ipv6_64(app, remote, key):
    """Every address of one /64 shares a key; IPv4 (also mapped into IPv6) keys by the address."""
    with app.test_request_context(environ_base={"REMOTE_ADDR": remote}):
        assert client_key() == key
