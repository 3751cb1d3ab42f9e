"""Browser fixtures: Debian's Chromium driven by Playwright, and the demo on real ports."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from buybutton import BuyButton
from buybutton_server import Settings
from buybutton_server.db import make_engine, session_factory
from buybutton_server.runner import build_demo
from tests.live_server import LiveServers, free_port

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is missing: ./dev test installs Debian's chromium package")
    return path


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def new_phone(browser: Browser, playwright: Playwright, locale: str = "en-US") -> BrowserContext:
    """An iPhone 13 context. The locale is explicit: the checkout starts its country picker
    on the browser's region (Accept-Language), so a test's totals must not depend on the
    machine's LANG."""
    context = browser.new_context(**playwright.devices["iPhone 13"], locale=locale)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def phone(browser: Browser, playwright: Playwright) -> Iterator[BrowserContext]:
    context = new_phone(browser, playwright)
    yield context
    context.close()


@dataclass
class Demo:
    shop: str
    blog: str
    bb: BuyButton
    sessions: sessionmaker[Session]

    @property
    def post(self) -> str:
        return f"{self.blog}/blog/pour-over-at-home"


@contextmanager
def run_demo(tmp_path: Path, **overrides: Any) -> Iterator[Demo]:
    """The demo shop and blog on real ports; ``overrides`` are Settings fields (e.g.
    ``smtp_url=...`` to send the demo's mail to a test SMTP server)."""
    shop_port, blog_port = free_port(), free_port()
    settings = Settings(
        secret_keys=("browser-test-secret-0123456789abcdef",),
        database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        base_url=f"http://127.0.0.1:{shop_port}",
        port=shop_port,
        **overrides,
    )
    shop_app, blog_app, bb, blog_base = build_demo(settings, blog_port)
    engine = make_engine(settings.database_url)
    try:
        with LiveServers([(shop_app, shop_port), (blog_app, blog_port)]):
            yield Demo(
                shop=settings.base_url, blog=blog_base, bb=bb, sessions=session_factory(engine)
            )
    finally:
        engine.dispose()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    with run_demo(tmp_path) as running:
        yield running


def checkout_ready(page: Page) -> None:
    """Wait until checkout.js has run on the page (it marks the form ``data-ready``), so a
    test acts on the page a shopper sees rather than racing the script."""
    expect(page.locator("#checkout")).to_have_attribute("data-ready", "1")


# A shopper's address in Porto (the demo shop's own country: VAT included, EU shipping).
PORTO = {"line1": "12 Harbour Street", "city": "Porto", "postal_code": "4000-123"}


def fill_address(page: Page, country: str, fields: Mapping[str, str]) -> None:
    """Pick ``country`` in the checkout's picker, wait for checkout.js to swap in that
    country's fields, then fill them (a region is a <select> in some countries)."""
    page.select_option('select[name="country"]', country)
    box = page.locator("[data-address-fields]")
    expect(box).to_have_attribute("data-country", country)
    for name, value in fields.items():
        field = box.locator(f'[name="{name}"]')
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
