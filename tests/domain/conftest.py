"""Fixtures shared by the domain tests that need a member who really paid through the sandbox."""
from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from service.db import utcnow
from service.domain.billing.sync import Cause, sync_subscription
from service.domain.newsletter.subscriptions import resubscribe
from service.gateways.stripe_gateway import StripeGateway
from service.models import ConsentSource, Member, Subscription


class Paying(NamedTuple):
    member: Member
    subscription: Subscription
    gateway: StripeGateway


@pytest.fixture
def paying(db_session: Any, reader: Any, gateway: StripeGateway) -> Paying:
    """A member who paid through the sandbox's checkout, synced, and on the members' digest.
    The modules using it run on `sandbox_app` (they define `app` to return it)."""
    session = reader.pay()
    member = reader.member
    sub = sync_subscription(member, gateway.retrieve_subscription(session["subscription"]), utcnow(), cause=Cause())
    resubscribe(member, "members-digest", ConsentSource.MEMBERSHIP)
    db_session.commit()
    return Paying(member, sub, gateway)
