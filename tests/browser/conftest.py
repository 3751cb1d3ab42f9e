"""Browser fixtures: Debian's Chromium driven by Playwright, and the demo on real ports."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


@pytest.fixture
def phone(browser: Browser, playwright: Playwright) -> Iterator[BrowserContext]:
    context = browser.new_context(**playwright.devices["iPhone 13"])
    context.set_default_timeout(10_000)
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


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    shop_port, blog_port = free_port(), free_port()
    settings = Settings(
        secret_keys=("browser-test-secret-0123456789abcdef",),
        database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        base_url=f"http://127.0.0.1:{shop_port}",
        port=shop_port,
    )
    shop_app, blog_app, bb, blog_base = build_demo(settings, blog_port)
    engine = make_engine(settings.database_url)
    with LiveServers([(shop_app, shop_port), (blog_app, blog_port)]):
        yield Demo(shop=settings.base_url, blog=blog_base, bb=bb, sessions=session_factory(engine))
    engine.dispose()


def checkout_ready(page: Page) -> None:
    """Wait until checkout.js has run on the page (it marks the form ``data-ready``), so a
    test acts on the page a shopper sees rather than racing the script."""
    expect(page.locator("#checkout")).to_have_attribute("data-ready", "1")


def screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
