"""Outgoing webhooks: one signed POST to an endpoint of the newsroom's other systems.

- Only public addresses, unless WEBHOOK_ALLOW_PRIVATE_URLS: the host name is resolved and every
  address it resolves to must be global unicast (no loopback, private, link-local, shared,
  reserved, multicast or unspecified address, IPv4-mapped ones included), so an admin's URL
  cannot reach the internal network (SSRF). The check runs at registration and again at every
  delivery, and the connection then goes to an address that was just checked (the host name is
  sent as Host and as the TLS server name, and the certificate is verified for it): a DNS answer
  that changes between check and connect (rebinding) is never used.
- `https` only when the service runs in production.
- One attempt, no redirects followed (a 3xx is a failure, as with Stripe), connect and read
  timeouts; the outbox retries with backoff. Only the first bytes of the answer are read.

Built on urllib3 (which `requests` runs on) because it lets the connection go to a chosen address
while TLS checks the host name.
"""
from __future__ import annotations

import ipaddress
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import certifi
import urllib3

from service.logs import log_event

logger = logging.getLogger(__name__)
TIMEOUT = urllib3.Timeout(connect=5, read=10)  # seconds
EXCERPT_BYTES = 500
MAX_URL_LENGTH = 2048
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL cannot be used for webhooks; the message says why and what to do."""


@dataclass(frozen=True)
class Answer:
    """What came back: a status (None when nothing answered), the time it took, the first bytes
    of the body, and the error when the request could not be made."""

    status: int | None
    latency_ms: int
    excerpt: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052's well-known prefix


def is_public(address: Address) -> bool:
    """A global unicast address: what the internet can reach, and nothing of ours."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address (mapped, 6to4, Teredo, NAT64) reach that address:
        # each carried one must be public too.
        carried = [a for a in (address.ipv4_mapped, address.sixtofour, *(address.teredo or ())) if a is not None]
        if address in NAT64:
            carried.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if carried and not all(is_public(a) for a in carried):
            return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_loopback
                                       or address.is_link_local or address.is_private or address.is_unspecified)


class WebhookSender:
    """Checks endpoint URLs and posts events to them. Never raises for the endpoint's failures:
    they come back as an `Answer` with an error."""

    def __init__(self, *, allow_private: bool = False, require_https: bool = True,
                 timeout: urllib3.Timeout = TIMEOUT) -> None:
        self.allow_private = allow_private
        self.require_https = require_https
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> WebhookSender:
        return cls(allow_private=config["WEBHOOK_ALLOW_PRIVATE_URLS"], require_https=config["ENV"] == "production")

    def check_url(self, url: str) -> list[Address]:
        """The addresses to connect to for `url`, every one checked. Raises UnsafeUrl."""
        parts = self._parse(url)
        assert parts.hostname is not None  # _parse refuses URLs without one
        addresses = _resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        if not self.allow_private:
            for address in addresses:
                if not is_public(address):
                    raise UnsafeUrl(f"{parts.hostname} resolves to {address}, which is not a public address "
                                    "(loopback, private, link-local or reserved): webhooks only go to public "
                                    "addresses unless WEBHOOK_ALLOW_PRIVATE_URLS=true (development, an internal network).")
        return addresses

    def _parse(self, url: str) -> SplitResult:
        if len(url) > MAX_URL_LENGTH:
            raise UnsafeUrl(f"The URL is longer than {MAX_URL_LENGTH} characters.")
        parts = urlsplit(url.strip())
        allowed = ("https",) if self.require_https else ("https", "http")
        if parts.scheme not in allowed:
            raise UnsafeUrl("The URL must start with https://." if self.require_https
                            else "The URL must start with https:// or http://.")
        if not parts.hostname:
            raise UnsafeUrl("The URL has no host name.")
        if parts.username is not None or parts.password is not None:
            raise UnsafeUrl("Leave user names and passwords out of the URL: receivers check the signature instead.")
        try:
            parts.port  # noqa: B018 - reading it validates it
        except ValueError:
            raise UnsafeUrl("The URL's port must be a number from 1 to 65535.") from None
        return parts

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        """POST `body` once; the answer or the reason there was none."""
        started = time.monotonic()
        try:
            addresses = self.check_url(url)
        except UnsafeUrl as exc:
            return Answer(None, _since(started), error=f"refused: {exc}")
        parts = urlsplit(url.strip())
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sent = {"Content-Type": "application/json", "User-Agent": "Membership-Webhooks/1", **headers,
                "Host": parts.netloc}
        error = "no address to connect to"
        for address in addresses:
            pool = self._pool(parts, address)
            try:
                response = pool.urlopen("POST", target, body=body, headers=sent, redirect=False, retries=False,
                                        preload_content=False, assert_same_host=False)
                excerpt = response.read(EXCERPT_BYTES)
                response.release_conn()
                log_event(logger, "webhook.answered", status=response.status, latency_ms=_since(started))
                return Answer(response.status, _since(started), _text(excerpt))
            except urllib3.exceptions.NewConnectionError as exc:
                error = _describe(exc)  # another address of the host may answer
            except urllib3.exceptions.HTTPError as exc:
                return Answer(None, _since(started), error=_describe(exc))
            finally:
                pool.close()
        return Answer(None, _since(started), error=error)

    def _pool(self, parts: SplitResult, address: Address) -> urllib3.HTTPConnectionPool:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if parts.scheme == "http":
            return urllib3.HTTPConnectionPool(str(address), port, timeout=self.timeout, retries=False, maxsize=1)
        return urllib3.HTTPSConnectionPool(str(address), port, timeout=self.timeout, retries=False, maxsize=1,
                                           server_hostname=parts.hostname, assert_hostname=parts.hostname,
                                           cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())


def _resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"The host name {host} does not resolve; check the URL.") from None
    # scope ids ("fe80::1%eth0") are dropped: such addresses are link-local and refused anyway.
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found))


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _text(raw: bytes) -> str:
    # PostgreSQL text cannot hold NUL characters.
    return raw.decode("utf-8", errors="replace").replace("\x00", "")


def _describe(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    return f"{type(exc).__name__}: {reason}"[:500]
