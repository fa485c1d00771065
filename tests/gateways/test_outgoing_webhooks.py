"""The outgoing webhooks' sender: which addresses it refuses (SSRF), and how it posts: once, no
redirects followed, bounded by timeouts, reading only the first bytes of the answer."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import urllib3

from service.config import load_config
from service.gateways.outgoing_webhooks import EXCERPT_BYTES, UnsafeUrl, WebhookSender
from tests.smtp import free_port
from tests.webhook_receiver import Receiver

STRICT = WebhookSender(allow_private=False, require_https=False)
OPEN = WebhookSender(allow_private=True, require_https=False)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/", "http://172.16.5.4/",
    "http://192.168.0.10/", "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/", "http://0.0.0.0/",
    "http://224.0.0.1/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://[fd00::1]/",
    # IPv6 addresses that carry a private IPv4 one: 6to4 (169.254.169.254), Teredo (client 10.0.0.1), NAT64.
    "http://[2002:a9fe:a9fe::1]/", "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", "http://[64:ff9b::a9fe:a9fe]/",
])
def test_non_public_addresses_are_refused(url):
    with pytest.raises(UnsafeUrl, match="not a public address"):
        STRICT.check_url(url)
    OPEN.check_url(url)  # WEBHOOK_ALLOW_PRIVATE_URLS=true lets them through


@pytest.mark.parametrize("url, complaint", [
    ("ftp://93.184.216.34/", "must start with https:// or http://"),
    ("https:///path-only", "no host name"),
    ("https://user:pass@93.184.216.34/", "Leave user names and passwords out"),
    ("https://93.184.216.34:99999/", "port must be a number"),
    ("https://no-such-host.invalid/", "does not resolve"),
    ("https://93.184.216.34/" + "a" * 2048, "longer than 2048"),
])
def test_unusable_urls_say_what_to_fix(url, complaint):
    with pytest.raises(UnsafeUrl, match=complaint):
        STRICT.check_url(url)


def test_a_public_address_is_accepted_and_production_wants_https():
    assert [str(a) for a in STRICT.check_url("http://93.184.216.34/hook")] == ["93.184.216.34"]
    production = WebhookSender(allow_private=False, require_https=True)
    production.check_url("https://93.184.216.34/hook")
    with pytest.raises(UnsafeUrl, match="must start with https://"):
        production.check_url("http://93.184.216.34/hook")


def test_the_setting_is_read_from_the_environment():
    base = {"MEMBERSHIP_ENV": "test"}
    assert load_config(environ=base)["WEBHOOK_ALLOW_PRIVATE_URLS"] is False
    config = load_config(environ={**base, "WEBHOOK_ALLOW_PRIVATE_URLS": "true"})
    WebhookSender.from_config(config).check_url("http://127.0.0.1:1/")
    with pytest.raises(UnsafeUrl):
        WebhookSender.from_config(load_config(environ=base)).check_url("http://127.0.0.1:1/")


def test_a_redirect_is_a_failure_and_is_not_followed(receiver):
    receiver.reset()
    receiver.answers.append(302)
    answer = OPEN.post(receiver.url, b"{}", {"Membership-Signature": "t=1,v1=0"})
    assert answer.status == 302 and not answer.ok
    assert [r.path for r in receiver.received] == ["/hooks/membership"]  # /elsewhere never asked


def test_a_slow_receiver_times_out(receiver):
    receiver.reset()
    receiver.delay = 1.5
    answer = WebhookSender(allow_private=True, require_https=False,
                           timeout=urllib3.Timeout(connect=1, read=0.3)).post(receiver.url, b"{}", {})
    assert answer.status is None and "ReadTimeoutError" in (answer.error or "")
    receiver.delay = 0


def test_nothing_listening_is_a_failure_with_the_reason():
    answer = OPEN.post(f"http://127.0.0.1:{free_port()}/hook", b"{}", {})
    assert answer.status is None and not answer.ok and "NewConnectionError" in (answer.error or "")


def test_only_the_first_bytes_of_the_answer_are_kept(receiver):
    receiver.reset()
    receiver.reply = b"x" * 5000 + b"\x00"
    answer = OPEN.post(receiver.url, b"{}", {})
    assert answer.ok and answer.excerpt == "x" * EXCERPT_BYTES and answer.latency_ms >= 0
    receiver.reply = b"ok\x00 \xff"
    assert OPEN.post(receiver.url, b"{}", {}).excerpt == "ok \ufffd"  # no NUL (PostgreSQL text), bad UTF-8 replaced
