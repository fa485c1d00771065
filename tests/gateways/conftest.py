"""The Stripe gateway against the sandbox, over real HTTP, through the official SDK: `gateway`
here is a StripeGateway of its own (no app's), on a sandbox that delivers its webhooks to a
test receiver. The mail and newsletter gateways' tests use the plain app where they need one."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.gateways.stripe_gateway import StripeGateway
from tests.sandbox.harness import Receiver, Sandbox, start_sandbox

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


@pytest.fixture
def gateway(sandbox: Sandbox) -> StripeGateway:
    return StripeGateway("sk_test_gateway", api_base=sandbox.url, max_network_retries=0)
