"""The per-app sandbox: settings, store and webhook dispatcher in one place."""
from dataclasses import dataclass, field

from flask import current_app

from . import clock, test_clocks
from .config import retry_days
from .store import Store

EXTENSION = "stripe_sandbox"


@dataclass
class Sandbox:
    config: dict
    store: Store
    webhooks: "object" = field(default=None)

    def now(self) -> int:
        """The sandbox's global clock (customers without a test clock, prices, keys...)."""
        return clock.now(self.store)

    def now_for(self, customer_id: str | None) -> int:
        """"Now" for a customer: their test clock's frozen_time, else the global clock.
        https://docs.stripe.com/billing/testing/test-clocks : objects of a customer on a
        test clock are created and advanced at the clock's time."""
        return test_clocks.now_for(self, customer_id)

    @property
    def retry_days(self) -> list[float]:
        return retry_days(self.config["SANDBOX_RETRY_DAYS"])

    @property
    def dunning_final(self) -> str:
        return self.config["SANDBOX_DUNNING_FINAL"]

    def close(self) -> None:
        """Stop the delivery thread and close the database (tests, shutdown)."""
        if self.webhooks is not None:
            self.webhooks.stop()
        self.store.close()


def sandbox() -> Sandbox:
    """The sandbox of the app handling the current request."""
    return current_app.extensions[EXTENSION]
