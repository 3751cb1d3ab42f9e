"""The overlay checkout on another site (issue 11, item 26), in Chromium: the shop on
``https://shop.test`` framed by a post on ``https://blog.test`` (two sites, both names mapped to
127.0.0.1 with ``--host-resolver-rules``; two ports of 127.0.0.1 would be one site). The
first-touch cookie must survive the cross-site frame: a ``SameSite=Lax`` cookie is neither
stored nor sent there, so the order lost its first touch."""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Playwright, expect
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.db import make_engine, migrate, session_factory
from tests.browser.conftest import CHROMIUM_ARGS, chromium_path, screenshot
from tests.conftest import add_product, orders
from tests.live_server import free_port

pytestmark = pytest.mark.browser


def self_signed(folder: Path) -> tuple[Path, Path]:
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=shop.test",
         "-addext", "subjectAltName=DNS:shop.test,DNS:blog.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


class TLSServers:
    """uvicorn over https in a background thread, one server per (app, port)."""

    def __init__(self, apps: list[tuple[Starlette, int]], key: Path, cert: Path) -> None:
        self.servers = [
            uvicorn.Server(
                uvicorn.Config(
                    app,
                    host="127.0.0.1",
                    port=port,
                    log_level="warning",
                    ssl_keyfile=str(key),
                    ssl_certfile=str(cert),
                )
            )
            for app, port in apps
        ]
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self._serve()), daemon=True, name="tls-servers"
        )

    async def _serve(self) -> None:
        await asyncio.gather(*(server.serve() for server in self.servers))

    def __enter__(self) -> TLSServers:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not all(server.started for server in self.servers):
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("https servers did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for server in self.servers:
            server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class Sites:
    shop: str
    post: str
    link: str
    sessions: sessionmaker[Session]


@pytest.fixture
def sites(tmp_path: Path) -> Iterator[Sites]:
    shop_port, blog_port = free_port(), free_port()
    shop, blog = f"https://shop.test:{shop_port}", f"https://blog.test:{blog_port}"
    settings = Settings(
        secret_keys=("overlay-test-secret-0123456789abcdef",),
        database_url=f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        base_url=shop,
        allowed_origins=(blog,),
        port=shop_port,
    )
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    add_product(sessions, stock=10)
    bb = BuyButton(secret_keys=list(settings.secret_keys), base_url=shop)
    link = bb.checkout_link("MUG-01", source="blog", content="post-1")

    async def post(request: Request) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html lang=en><title>A post</title><main><h1>A post</h1>"
            f'<p><a href="{link}" data-buybutton-sku="MUG-01">Buy the mug</a></p>'
            f'<script async src="{shop}/widgets/buybutton.js"></script></main></html>'
        )

    blog_app = Starlette(routes=[Route("/post", post)])
    key, cert = self_signed(tmp_path)
    with TLSServers([(create_app(settings), shop_port), (blog_app, blog_port)], key, cert):
        yield Sites(shop=shop, post=f"{blog}/post", link=link, sessions=sessions)
    engine.dispose()


@pytest.fixture
def two_site_browser(playwright: Playwright) -> Iterator[Browser]:
    rules = "--host-resolver-rules=MAP shop.test 127.0.0.1, MAP blog.test 127.0.0.1"
    browser = playwright.chromium.launch(
        executable_path=chromium_path(), args=[*CHROMIUM_ARGS, rules]
    )
    yield browser
    browser.close()


def test_the_overlay_on_another_site_keeps_the_first_touch(
    two_site_browser: Browser, sites: Sites
) -> None:
    context = two_site_browser.new_context(
        viewport={"width": 1280, "height": 900}, ignore_https_errors=True
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(sites.post)
    button = page.locator('a[data-buybutton-sku="MUG-01"]')
    expect(button).to_contain_text("$24.00")
    with page.expect_response(lambda r: "/c/" in r.url and "embed=1" in r.url) as framed:
        button.click()
    set_cookie = framed.value.all_headers().get("set-cookie", "")
    assert "bb_ft=" in set_cookie
    assert "SameSite=None; Secure; Partitioned" in set_cookie  # was SameSite=lax
    checkout = page.frame_locator("dialog iframe")
    expect(checkout.locator("h1")).to_have_text("Stoneware Mug")
    # The frame is another site's: the framed document's top-level site is the blog.
    assert page.evaluate("location.host").startswith("blog.test")
    checkout.locator("#pay-wallet").click()
    expect(checkout.locator(".done h1")).to_contain_text("Thank you")
    screenshot(page, "overlay-cross-site")
    [order] = orders(sites.sessions, "paid")
    assert (order.source, order.content) == ("blog", "post-1"), "last touch"
    # The cookie set in the frame came back with the payment: the first touch is kept.
    assert (order.first_source, order.first_content) == ("blog", "post-1")  # was (None, None)
    assert order.first_touch_at is not None
    context.close()
