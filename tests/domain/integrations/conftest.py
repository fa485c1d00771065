"""Outgoing webhooks against a real receiver on 127.0.0.1 (tests/webhook_receiver.py). The app's
sender is one that allows loopback addresses, as WEBHOOK_ALLOW_PRIVATE_URLS=true would."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from service.db import utcnow
from service.domain.integrations import endpoints
from service.gateways.outgoing_webhooks import WebhookSender
from service.models import WebhookEndpoint
from tests.factories import make_staff
from tests.webhook_receiver import Receiver


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def private_ok(app: Any, monkeypatch: pytest.MonkeyPatch) -> WebhookSender:
    sender = WebhookSender(allow_private=True, require_https=False)
    monkeypatch.setitem(app.extensions, "webhooks", sender)
    return sender


@pytest.fixture
def endpoint(db_session: Any, receiver: Receiver, private_ok: WebhookSender) -> Any:
    """`endpoint(*types)`: an endpoint on the receiver, whose secret the receiver then checks."""

    def register(*types: str) -> WebhookEndpoint:
        made, secret = endpoints.create_endpoint(make_staff("admin"), receiver.url, list(types or ["*"]), "tests",
                                                 utcnow())
        receiver.reset(secret)
        return made

    return register
