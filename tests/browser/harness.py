"""The real service in a thread, a real SMTP server and real Chromium: shared by the browser
tests and `scripts/screenshots.py`.

`LiveService` runs `create_app` on a temporary SQLite database behind werkzeug's threaded
server, with the Stripe sandbox mounted at /_sandbox and the worker in a thread exactly as
`membership serve` does, so the sandbox's signed webhooks reach the service's
/webhooks/stripe, and the emails they queue go out.
"""
from __future__ import annotations

import logging
import re
import shutil
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

from service import create_app
from service.cli.serve import WORKER_INTERVAL
from service.jobs import Worker
from tests.smtp import SmtpServer, body_text, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
INSTALL_HINT = ("Chromium is needed for the browser tests: install Debian's package with "
                "`sudo apt-get install -y chromium` (it provides /usr/bin/chromium). "
                "`playwright install` is not used.")
PAYING_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0341"
# axe-core impacts that fail a page: people are blocked (critical) or badly held up (serious).
BLOCKING = ("serious", "critical")


class LiveService:
    """The service on 127.0.0.1:<free port> with its own database, sandbox state and SMTP inbox."""

    def __init__(self, workdir: Path):
        from service.cli import alembic_config

        self.workdir = workdir
        self.smtp = SmtpServer()
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        database_url = f"sqlite:///{workdir / 'membership.sqlite3'}"
        from alembic import command

        command.upgrade(alembic_config(database_url), "head")
        self._logging = _save_logging()
        self.app = create_app({
            "MEMBERSHIP_ENV": "test", "DATABASE_URL": database_url, "SECRET_KEY": "browser-tests-secret",
            "BASE_URL": self.url, "BILLING_BACKEND": "sandbox", "SANDBOX_DB": str(workdir / "sandbox.sqlite3"),
            "MAIL_URL": self.smtp.url, "RATELIMIT_ENABLED": False, "CURRENCIES": "usd,eur,chf",
        })
        from service.web.dev import SANDBOX_MOUNT, development_app

        wsgi = development_app(self.app)
        self.sandbox_app = wsgi.mounts[SANDBOX_MOUNT]
        self.server = make_server("127.0.0.1", port, wsgi, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.worker = Worker(interval=WORKER_INTERVAL)
        self.worker.start_thread(self.app)

    def wait_for_email(self, to: str, subject: str, timeout: float = 10.0) -> EmailMessage:
        """The newest email with that subject to that address. What Stripe's webhooks queued waits for
        a worker, and none runs here: waiting delivers the outbox, as `membership worker` would."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.smtp.inbox.to(to)):
                if message["Subject"] == subject:
                    return message
            self.deliver_outbox()
            time.sleep(0.1)
        raise AssertionError(f"no email {subject!r} to {to} within {timeout}s; got {len(self.smtp.inbox.messages)}")

    def signin_link(self, to: str) -> str:
        text = body_text(self.wait_for_email(to, "Your sign-in link"))
        match = re.search(r"(http://\S+/signin/link/\S+)", text)
        assert match, text
        return match.group(1)

    def deliver_outbox(self) -> None:
        from service.jobs import deliver_outbox

        with self.app.app_context():
            deliver_outbox(100)

    def checkout_session(self, url: str) -> dict[str, Any]:
        """The Checkout Session behind a hosted checkout page's address, read back through the sandbox's API."""
        session_id = url.split("?")[0].rstrip("/").rsplit("/", 1)[1]
        answer = requests.get(f"{self.url}/_sandbox/v1/checkout/sessions/{session_id}",
                              headers={"Authorization": f"Bearer {self.app.config['STRIPE_SECRET_KEY']}"}, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def api_headers(self) -> dict[str, str]:
        """A staff viewer's API token, made directly in the service's database."""
        from service.domain.staff.users import create_api_token, create_staff_user
        from service.extensions import db
        from service.models import Role

        with self.app.app_context():
            email = f"viewer{time.time_ns()}@newsroom.example"
            create_staff_user(email, Role.VIEWER, "correct horse battery staple")
            _token, plain = create_api_token(email)
            db.session.commit()
        return {"Authorization": f"Bearer {plain}"}

    def close(self) -> None:
        import stripe_sandbox

        self.worker.stop_thread()
        self.server.shutdown()
        self.server.server_close()
        stripe_sandbox.sandbox_of(self.sandbox_app).close()
        self.app.extensions["db_engine"].dispose()
        self.smtp.close()
        _restore_logging(self._logging)


def _save_logging() -> tuple[Any, ...]:
    service_logger = logging.getLogger("service")
    return list(service_logger.handlers), service_logger.level, service_logger.propagate


def _restore_logging(saved: tuple[Any, ...]) -> None:
    service_logger = logging.getLogger("service")
    service_logger.handlers[:] = saved[0]
    service_logger.setLevel(saved[1])
    service_logger.propagate = saved[2]


def accessibility_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it stands, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']}: {[n['target'] for n in v['nodes']]}"
            for v in violations if v["impact"] in BLOCKING]


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def launch(playwright: Any, user_data_dir: Path, **context: Any) -> Any:
    """Debian's Chromium with a fresh profile; a persistent context, so the profile is ours."""
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
        args=CHROMIUM_ARGS, headless=True, **context)


def choose_plan_and_join(page: Any, live: LiveService, name: str, email: str) -> None:
    """On the front page: keep the preselected $5 a month, type name and email, continue."""
    page.goto(live.url + "/")
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r".*/_sandbox/checkout/cs_.*"))


def pay_on_checkout(page: Any, card: str) -> None:
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    # "Subscribe" for a membership, "Pay" for a one-time gift, as Stripe's page says.
    page.get_by_role("button", name=re.compile(r"^(Subscribe|Pay)$")).click()


def sign_in_by_email(page: Any, live: LiveService, email: str) -> None:
    """Ask for a sign-in email on /signin, then follow the link it carries."""
    page.goto(live.url + "/signin")
    page.get_by_label("The email address you joined with").fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    page.goto(live.signin_link(email))
