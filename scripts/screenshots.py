"""Drive real Chromium through the reader's journey and save screenshots for the README.

    make screenshots          # or: .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Runs the service on a temporary SQLite database with the Stripe sandbox (nothing to
configure, no network), joins with the $5 plan, pays with the test card, signs in by the
emailed link and writes join.png, checkout.png and account.png; then the join page in French and
in Arabic (right to left): join-fr.png, join-ar.png.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.harness import (  # noqa: E402 - after the path set-up above
    INSTALL_HINT,
    PAYING_CARD,
    LiveService,
    chromium_available,
    launch,
    sign_in_by_email,
)

VIEWPORT = {"width": 1100, "height": 900}


def shoot(out: Path) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        live = LiveService(Path(tmp))
        context = launch(p, Path(tmp) / "profile", viewport=VIEWPORT)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(live.url + "/")
            page.get_by_label("Your name").fill("Ada Lovelace")
            page.get_by_label("Email address").fill("ada@example.org")
            saved = [_save(page, out / "join.png")]
            page.get_by_role("button", name="Continue to payment").click()
            page.wait_for_url(re.compile(r".*/_sandbox/checkout/.*"))
            page.get_by_label("Card number").fill(PAYING_CARD)
            page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
            page.get_by_label("CVC").fill("123")
            saved.append(_save(page, out / "checkout.png"))
            page.get_by_role("button", name="Subscribe").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, and thank you!", timeout=20_000)
            sign_in_by_email(page, live, "ada@example.org")
            expect(page.locator(".status")).to_contain_text("Member, renews on")
            saved.append(_save(page, out / "account.png"))
            page.get_by_role("link", name="Cancel membership").click()
            page.get_by_label("It costs too much").check()
            page.get_by_label(re.compile("Anything you'd like to tell us")).fill("Money is tight this winter")
            page.get_by_role("button", name="Continue").click()
            expect(page.get_by_role("heading", name="Would one of these help?")).to_be_visible()
            saved.append(_save(page, out / "cancel-offers.png"))
            for lang, name in (("fr", "Françoise Dupont"), ("ar", "ليلى حسن")):
                page.goto(f"{live.url}/?lang={lang}")
                page.locator("#name").fill(name)
                saved.append(_save(page, out / f"join-{lang}.png"))
            page.goto(f"{live.url}/gift?lang=en&currency=chf")
            page.get_by_label("Their name").fill("Rosa Reader")
            page.get_by_label("Their email address").fill("rosa@example.org")
            page.get_by_label("Your message (optional)").fill("Happy birthday! For your morning commute.")
            page.get_by_label("Your name").fill("Ada Lovelace")
            page.get_by_label("Your email address").fill("ada@example.org")
            saved.append(_save(page, out / "gift-chf.png"))
            return saved
        finally:
            context.close()
            live.close()


def _save(page: object, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where to write the PNGs")
    args = parser.parse_args()
    if not chromium_available():
        print(INSTALL_HINT, file=sys.stderr)
        return 1
    shoot(args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
