"""Stripe's rate limits (https://docs.stripe.com/rate-limits): the gateway waits out a 429's
`Retry-After` and succeeds, spreads reads with a token bucket its threads share, and a 429 left
after the retries fails an inbox event's apply without losing it: the event waits, not dead, and
applies once Stripe answers again. Against a local Stripe double over real HTTP (stripe_double.py)."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from service import jobs
from service.db import utcnow
from service.domain.billing import inbox
from service.errors import BillingUnavailable
from service.gateways.stripe_gateway import StripeGateway, TokenBucket, retry_after
from service.models import InboxStatus, MemberStatus, StripeEvent
from tests.gateways.stripe_double import StripeDouble

SUBSCRIPTION = {"id": "sub_double", "object": "subscription", "status": "active", "customer": "cus_double"}


@pytest.fixture
def double() -> Iterator[StripeDouble]:
    d = StripeDouble(answers={"/v1/subscriptions/sub_double": SUBSCRIPTION})
    yield d
    d.close()


def first(n: int):
    """A `limit` that answers 429 to the first n requests, then lets everything through."""
    count = iter(range(n))
    return lambda method, path: next(count, None) is not None


# --- Retry-After --------------------------------------------------------------------------


def test_a_429_is_sent_again_after_its_retry_after_and_succeeds(double):
    double.limit = first(1)
    gateway = StripeGateway("sk_test_double", api_base=double.url, max_network_retries=2)
    started = time.monotonic()
    assert gateway.retrieve_subscription("sub_double")["status"] == "active"
    assert double.statuses() == [429, 200]
    # Retry-After: 1, and the SDK alone would have raised RateLimitError at once (no Stripe-Should-Retry).
    assert double.seen[1].at - double.seen[0].at >= 1.0
    assert time.monotonic() - started >= 1.0


def test_a_write_is_sent_again_with_the_same_idempotency_key(double):
    double.limit, double.retry_after = first(1), "1"
    double.answers["/v1/customers"] = {"id": "cus_new", "object": "customer", "metadata": {}}
    gateway = StripeGateway("sk_test_double", api_base=double.url, max_network_retries=1)
    assert gateway.create_customer(member_id=7, email="a@example.org", name="A")["id"] == "cus_new"
    assert double.statuses("POST") == [429, 200]
    keys = {s.idempotency_key for s in double.seen}
    assert len(keys) == 1 and next(iter(keys)).startswith("membership-member-7-")


def test_a_429_left_after_the_retries_is_billing_unavailable(double):
    double.limit, double.retry_after = (lambda method, path: True), "0.1"
    gateway = StripeGateway("sk_test_double", api_base=double.url, max_network_retries=2)
    with pytest.raises(BillingUnavailable, match="RateLimitError"):
        gateway.retrieve_subscription("sub_double")
    assert double.statuses() == [429, 429, 429]  # the first try and two retries, no more


def test_stripe_should_retry_false_is_not_retried(double):
    double.limit, double.should_retry = first(1), "false"
    gateway = StripeGateway("sk_test_double", api_base=double.url, max_network_retries=3)
    with pytest.raises(BillingUnavailable):
        gateway.retrieve_subscription("sub_double")
    assert double.statuses() == [429]


def test_a_retry_after_longer_than_the_gateway_waits_fails_at_once(double):
    double.limit, double.retry_after = (lambda method, path: True), "60"
    gateway = StripeGateway("sk_test_double", api_base=double.url, max_network_retries=3, max_retry_wait=0.2)
    started = time.monotonic()
    with pytest.raises(BillingUnavailable):
        gateway.retrieve_subscription("sub_double")
    assert double.statuses() == [429] and time.monotonic() - started < 1.0


def test_a_429_holds_every_thread_of_the_process(double):
    """One thread's 429 makes the other threads' reads wait for its Retry-After too."""
    double.limit = first(1)
    gateway = StripeGateway("sk_test_double", api_base=double.url, max_network_retries=1)

    def other() -> None:
        time.sleep(0.3)  # after the first read got its 429
        gateway.retrieve_subscription("sub_double")

    thread = threading.Thread(target=other)
    thread.start()
    gateway.retrieve_subscription("sub_double")
    thread.join(5)
    assert double.statuses() == [429, 200, 200]
    assert min(s.at for s in double.seen[1:]) - double.seen[0].at >= 1.0


@pytest.mark.parametrize(("header", "seconds"), [("2", 2.0), ("0", 0.0), ("1.5", 1.5), ("soon", None), (None, None)])
def test_retry_after_reads_delay_seconds(header, seconds):
    assert retry_after({"retry-after": header} if header is not None else {}) == seconds


def test_retry_after_reads_an_http_date():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert retry_after({"Retry-After": format_datetime(now + timedelta(seconds=3), usegmt=True)}, now) == 3.0
    assert retry_after({"Retry-After": format_datetime(now - timedelta(seconds=3), usegmt=True)}, now) == 0.0


# --- the token bucket ---------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_bucket_lets_a_burst_through_then_spaces_takes_by_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(10, burst=3, clock=clock, sleep=clock.sleep)
    waits = [bucket.take() for _ in range(7)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:] == pytest.approx([0.1] * 4)
    assert clock.now == pytest.approx(100.4)


def test_the_bucket_refills_while_idle_up_to_its_burst():
    clock = FakeClock()
    bucket = TokenBucket(10, burst=2, clock=clock, sleep=clock.sleep)
    bucket.take(), bucket.take()
    clock.now += 60
    assert [bucket.take() for _ in range(3)] == pytest.approx([0, 0, 0.1])


def test_a_hold_delays_every_take_until_it_ends():
    clock = FakeClock()
    bucket = TokenBucket(10, burst=5, clock=clock, sleep=clock.sleep)
    bucket.hold(2.0)
    bucket.hold(2.0)  # another thread's 429 with the same Retry-After adds nothing
    assert bucket.take() == pytest.approx(2.1)  # the hold, then the bucket starts empty
    assert bucket.take() == pytest.approx(0.1)
    assert TokenBucket(0, clock=clock, sleep=clock.sleep).take() == 0  # unlimited: no spacing...
    unlimited = TokenBucket(0, clock=clock, sleep=clock.sleep)
    unlimited.hold(1.0)
    assert unlimited.take() == pytest.approx(1.0)  # ...but a hold still holds


def test_a_rate_of_zero_never_waits():
    bucket = TokenBucket(0)
    assert [bucket.take() for _ in range(1000)] == [0.0] * 1000


def test_reads_from_several_threads_are_spaced_by_the_rate(double):
    """20 reads a second, no burst beyond one: 4 threads x 5 reads arrive at least 1/20 s apart."""
    gateway = StripeGateway("sk_test_double", api_base=double.url, reads_per_second=20)
    gateway.reads.burst = gateway.reads._tokens = 1.0
    threads = [threading.Thread(target=lambda: [gateway.retrieve_subscription("sub_double") for _ in range(5)])
               for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert double.statuses() == [200] * 20
    assert time.monotonic() - started >= 19 / 20 - 0.02
    arrivals = sorted(s.at for s in double.seen)
    # Each read left the bucket 1/20 s after the one before; the network adds jitter, not speed.
    assert arrivals[-1] - arrivals[0] >= 19 / 20 - 0.05


def test_writes_do_not_take_read_tokens(double):
    double.answers["/v1/customers"] = {"id": "cus_new", "object": "customer", "metadata": {}}
    gateway = StripeGateway("sk_test_double", api_base=double.url, reads_per_second=1)
    gateway.reads.take()  # the one token: a read now would wait a second
    started = time.monotonic()
    for n in range(5):
        gateway.create_customer(member_id=n, email=f"w{n}@example.org", name="W")
    assert time.monotonic() - started < 0.5


def test_the_app_gateway_reads_the_setting(app):
    assert app.config["STRIPE_READS_PER_SECOND"] == 25
    assert StripeGateway.from_config({**app.config, "STRIPE_READS_PER_SECOND": 7}).reads.rate == 7


# --- the worker under a 429 storm -----------------------------------------------------------


@pytest.fixture
def storm(sandbox) -> Iterator[StripeDouble]:
    """The sandbox behind a double that answers every read 429 while `storming` is set."""
    d = StripeDouble(upstream=sandbox.url, retry_after="0.1")
    d.storming = False  # type: ignore[attr-defined]
    d.limit = lambda method, path: d.storming and method == "GET"  # type: ignore[attr-defined]
    yield d
    d.close()


def test_a_429_storm_leaves_events_waiting_not_dead_and_they_apply_later(db_session, reader, tap, storm):
    """The worker's inbox pass during a storm of 429s: every read is retried after its Retry-After
    and still refused, so the events that need a read fail, are recorded with a next attempt, and
    none is lost or dead; the next pass after the storm applies them, each once."""
    reader.pay()
    events = tap.new()
    now = utcnow()
    for event in events:
        inbox.store(event, now)
    db_session.commit()
    through_storm = StripeGateway("sk_test_storm", api_base=storm.url, max_network_retries=2)

    storm.storming = True  # type: ignore[attr-defined]
    assert jobs.retry_events(now, through_storm, received_after=timedelta(0)) == len(events)
    rows = _rows(db_session, events)
    needing_reads = [r for r in rows.values() if r.status is not InboxStatus.IGNORED]
    assert needing_reads and {r.status for r in needing_reads} == {InboxStatus.FAILED}
    assert all(r.attempts == 1 and r.next_attempt_at is not None and "BillingUnavailable" in r.last_error
               for r in needing_reads)
    assert reader.member.status is MemberStatus.PENDING
    gets = storm.statuses("GET")
    assert gets and set(gets) == {429} and len(gets) % 3 == 0  # each read: a try and two retries

    storm.storming = False  # type: ignore[attr-defined]
    later = now + timedelta(hours=1)  # the failed events' backoff has run out
    assert jobs.retry_events(later, through_storm, received_after=timedelta(0)) == len(needing_reads)
    rows = _rows(db_session, events)
    assert {r.status for r in rows.values()} <= {InboxStatus.APPLIED, InboxStatus.IGNORED}
    assert all(r.attempts == 2 for r in needing_reads)
    db_session.refresh(reader.member)
    assert reader.member.status is MemberStatus.ACTIVE
    assert jobs.retry_events(later, through_storm, received_after=timedelta(0)) == 0


def _rows(db_session, events) -> dict[str, StripeEvent]:
    db_session.expire_all()
    found = db_session.scalars(select(StripeEvent).where(StripeEvent.stripe_event_id.in_([e["id"] for e in events])))
    return {row.stripe_event_id: row for row in found}
