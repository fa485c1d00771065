"""`membership serve` with no Stripe key: the service, the sandbox and the worker in one process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
import requests

from service.gateways.stripe_gateway import StripeGateway

BIN = Path(sys.executable).parent / "membership"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served(NamedTuple):
    url: str
    instance: Path

    def __str__(self) -> str:
        return self.url


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A real `membership serve` on a free port, with nothing configured but its data folder."""
    instance = tmp_path_factory.mktemp("instance")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "DATABASE_URL", "BILLING_", "MEMBERSHIP_"))}
    env.update(MEMBERSHIP_INSTANCE_DIR=str(instance), BASE_URL=base)
    subprocess.run([BIN, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=instance)
    log = (instance / "serve.log").open("wb")
    proc = subprocess.Popen([BIN, "serve", "--port", str(port)], env=env, cwd=instance, stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/healthz", timeout=1).close()
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail("membership serve did not start:\n" + (instance / "serve.log").read_text())
        yield Served(base, instance)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_serve_answers_health_checks_with_sqlite_and_no_settings(served):
    assert requests.get(f"{served}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{served}/readyz", timeout=5).json()["database"] == "ok"


def test_serve_runs_the_sandbox_and_its_checkout_page(served):
    gateway = StripeGateway("sk_test_sandbox", api_base=f"{served}/_sandbox", max_network_retries=0)
    customer = gateway.create_customer(member_id=1, email="reader@example.org", name="Reader")
    price = gateway.ensure_price(lookup_key="membership_monthly_5", product_name="Membership: Monthly",
                                 amount=500, currency="usd", interval="month")
    session = gateway.create_checkout_session(
        member_id=1, customer_id=customer["id"], line_item={"price": price["id"]},
        success_url=f"{served}/join/success?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{served}/join/cancelled", key="serve-test")
    assert session["url"].startswith(f"{served}/_sandbox/checkout/")
    page = requests.get(session["url"], timeout=5)
    assert page.status_code == 200
    assert "$5.00 / month" in page.text and 'name="card_number"' in page.text


def test_the_journey_completes_and_its_emails_leave_through_the_worker_thread(served):
    """A reader pays on the sandbox's checkout page; the sandbox's webhooks make them a member,
    and the emails and list change this queued go out from the server's own worker thread
    (the webhook request only queues them: Stripe gets its answer first)."""
    from sqlalchemy import select

    from service import create_app
    from service.extensions import db
    from service.models import Member, MemberStatus, OutboxMessage, OutboxStatus

    app = create_app({"MEMBERSHIP_ENV": "test", "SECRET_KEY": "x" * 32,
                      "DATABASE_URL": f"sqlite:///{served.instance / 'membership.sqlite3'}"})
    gateway = StripeGateway("sk_test_sandbox", api_base=f"{served.url}/_sandbox", max_network_retries=0)
    with app.app_context():
        member = Member(email="journey@example.org", name="Journey Reader")
        db.session.add(member)
        db.session.flush()
        member.stripe_customer_id = gateway.create_customer(member_id=member.id, email=member.email, name=member.name)["id"]
        db.session.commit()
        price = gateway.ensure_price(lookup_key="membership_monthly_5", product_name="Membership: Monthly",
                                     amount=500, currency="usd", interval="month")
        session = gateway.create_checkout_session(
            member_id=member.id, customer_id=member.stripe_customer_id, line_item={"price": price["id"]},
            success_url=f"{served.url}/join/success?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{served.url}/join/cancelled", key="serve-journey")
        paid = requests.post(session["url"], data={"email": member.email, "card_number": "4242 4242 4242 4242",
                                                   "expiry": "12 / 34", "cvc": "123"}, allow_redirects=False, timeout=10)
        assert paid.status_code == 303, paid.text

        def settled() -> tuple[MemberStatus | None, list[OutboxStatus]]:
            try:
                status = db.session.scalar(select(Member.status).where(Member.id == member.id))
                return status, list(db.session.scalars(select(OutboxMessage.status)))
            finally:
                db.session.rollback()  # SQLite: never hold the write lock the server needs while waiting

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, outbox = settled()
            if status is MemberStatus.ACTIVE and len(outbox) >= 2 and set(outbox) == {OutboxStatus.DELIVERED}:
                break
            time.sleep(0.2)
        assert settled()[0] is MemberStatus.ACTIVE
        # The welcome email, the receipt and the members' digest sync, all sent by the worker thread.
        assert len(outbox) >= 2 and set(outbox) == {OutboxStatus.DELIVERED}, outbox
    app.extensions["db_engine"].dispose()
