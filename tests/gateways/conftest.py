"""The gateway against the sandbox, over real HTTP, through the official SDK."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from service import create_app
from service.gateways.stripe_gateway import StripeGateway
from tests.conftest import sandbox_config
from tests.sandbox.conftest import Receiver, Sandbox, start_sandbox

WEBHOOK_SECRET = "whsec_gateway_tests"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def sandbox(receiver: Receiver) -> Iterator[Sandbox]:
    sb = start_sandbox(SANDBOX_WEBHOOK_URL=receiver.url, SANDBOX_WEBHOOK_SECRET=WEBHOOK_SECRET)
    yield sb
    sb.close()


@pytest.fixture(scope="module")
def app(database_url: str, sandbox: Sandbox) -> Iterator[Flask]:
    """The service with its billing gateway pointed at the sandbox."""
    app = create_app(sandbox_config(database_url, sandbox.url,
                                 STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET))
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def gateway(sandbox: Sandbox) -> StripeGateway:
    return StripeGateway("sk_test_gateway", api_base=sandbox.url, max_network_retries=0)
