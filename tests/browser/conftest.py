"""Browser tests: real Chromium (Debian's, through Playwright) against the real service.

Chromium missing or failing to start is a failure in CI (CI or REQUIRE_BROWSER set) and a
skip that says how to install it elsewhere. A failing test leaves a screenshot in
instance/browser-failures/.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import INSTALL_HINT, LiveService, chromium_available, launch

FAILURES = Path(__file__).resolve().parents[2] / "instance" / "browser-failures"


def _browser_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER"))


def _unavailable(reason: str) -> None:
    if _browser_required():
        pytest.fail(f"browser tests cannot run: {reason}. {INSTALL_HINT}", pytrace=False)
    pytest.skip(f"{reason}. {INSTALL_HINT}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    service = LiveService(tmp_path_factory.mktemp("live"))
    yield service
    service.close()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    if not chromium_available():
        _unavailable("no Chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def browse(request: pytest.FixtureRequest, playwright: Any, tmp_path: Path) -> Iterator[Any]:
    """`browse(**context)` -> a page in a fresh Chromium profile with those context options (e.g.
    locale="fr-FR", which also sets Accept-Language). On failure, a full-page screenshot of each is
    kept; any content security policy breach fails the test."""
    opened: list[tuple[Any, Any]] = []
    blocked: list[str] = []

    def open_page(**context: Any) -> Any:
        try:
            browser = launch(playwright, tmp_path / f"profile{len(opened)}", **context)
        except Exception as exc:  # noqa: BLE001 - any launch failure means the same thing here
            _unavailable(f"Chromium did not start ({type(exc).__name__}: {str(exc).splitlines()[0]})")
        browser.set_default_timeout(15_000)
        page = browser.pages[0] if browser.pages else browser.new_page()
        # Chromium reports anything the content security policy blocked on the console.
        page.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
        opened.append((browser, page))
        return page

    yield open_page
    report = getattr(request.node, "report_call", None)
    for n, (browser, page) in enumerate(opened):
        if report is not None and report.failed:
            FAILURES.mkdir(parents=True, exist_ok=True)
            shot = FAILURES / f"{request.node.name}{'-' + str(n) if n else ''}.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failure: {shot}")
        browser.close()
    assert not blocked, f"the page broke its content security policy: {blocked}"


@pytest.fixture
def page(browse: Any) -> Any:
    """A page in a fresh Chromium profile (English); on failure, a full-page screenshot is kept."""
    return browse()
