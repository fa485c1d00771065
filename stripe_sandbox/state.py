"""The per-app sandbox: settings, store and webhook dispatcher in one place."""
from dataclasses import dataclass, field

from flask import current_app

from . import clock
from .config import retry_days
from .store import Store

EXTENSION = "stripe_sandbox"


@dataclass
class Sandbox:
    config: dict
    store: Store
    webhooks: "object" = field(default=None)

    def now(self) -> int:
        return clock.now(self.store)

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
