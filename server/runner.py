"""Starting the server: what ``buybutton serve`` and ``buybutton demo`` run (their commands
are in ``buybutton_server.commands.serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable, Generator
from dataclasses import replace

import uvicorn
from sqlalchemy.pool import NullPool
from starlette.types import ASGIApp

from buybutton import BuyButton
from buybutton.errors import ConfigurationError
from buybutton.tokens import CheckoutLink
from buybutton_server.app import create_app
from buybutton_server.db import make_engine, migrate, open_sessions, session_factory, write_session
from buybutton_server.domain.catalog import read_catalog_file, upsert_products, validate_rows
from buybutton_server.logs import uvicorn_log_config
from buybutton_server.settings import Settings

log = logging.getLogger("buybutton")


class _FollowerServer(uvicorn.Server):
    """A second server in the same process: the first one owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def ensure_port_free(host: str, port: int, option: str) -> None:
    """Fail with one clear line before migrating or seeding anything."""
    with socket.socket() as probe:
        # As uvicorn does: connections of a previous run lingering in TIME_WAIT don't count,
        # a server listening on the port does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise ConfigurationError(
                f"port {port} on {host} is in use; choose another with {option}"
            ) from None


def serve(settings: Settings, *, workers: int = 1) -> None:
    """Migrate once, then serve. With several workers each process builds its own app from the
    same environment; everything that must be shared (orders, stock, idempotency, rate limits)
    lives in the database."""
    ensure_port_free(settings.host, settings.port, "BUYBUTTON_PORT or --port")
    migrate(settings.database_url)
    several = workers > 1
    if several:
        os.environ.update(settings.as_environment())
    uvicorn.run(
        "buybutton_server.app:create_app" if several else create_app(settings),
        factory=several,
        workers=workers if several else None,
        host=settings.host,
        port=settings.port,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        server_header=False,
        log_level="info",
        log_config=uvicorn_log_config(),
        # A worker answers uvicorn's health check once its app is imported; on a loaded
        # machine that takes several seconds, and a 5 s limit kills healthy workers.
        timeout_worker_healthcheck=60,
    )


def seed_demo_catalog(settings: Settings, *, image_base: str) -> None:
    """Load the demo catalog shipped with the demo site; images are served by the blog."""
    from buybutton_demo_site import catalog_path

    rows = [
        (where, {**row, "image_url": image_base + row["image_url"]})
        for where, row in read_catalog_file(catalog_path())
    ]
    with open_sessions(settings.database_url) as sessions, write_session(sessions) as session:
        upsert_products(session, validate_rows(rows))


DEMO_ADMIN = "demo@buybutton.test"


def demo_urls(bb: BuyButton, blog_base: str) -> list[tuple[str, str]]:
    return [
        ("Blog post", f"{blog_base}/blog/pour-over-at-home"),
        ("Shoppable video", f"{blog_base}/videos/pour-over"),
        ("Social feed", f"{blog_base}/social"),
        ("Newsletter", f"{blog_base}/newsletter?subscriber=ana@example.com"),
        ("Checkout link", bb.checkout_link("DRIPPER-01", source="demo", campaign="cli")),
        ("Product page (oEmbed)", f"{bb.base_url}/p/DRIPPER-01"),
        ("Snippet builder", f"{bb.base_url}/admin/snippets"),
    ]


def ensure_demo_admin(settings: Settings) -> str | None:
    """A login for the demo's snippet builder, with a fresh password each run (printed)."""
    from sqlalchemy import delete

    from buybutton_server.db.models import AdminUser
    from buybutton_server.domain.admin_auth import create_admin

    password = secrets.token_urlsafe(12)
    with open_sessions(settings.database_url) as sessions, write_session(sessions) as session:
        session.execute(delete(AdminUser).where(AdminUser.email == DEMO_ADMIN))
        create_admin(session, DEMO_ADMIN, password)
    return password


def build_demo(settings: Settings, blog_port: int) -> tuple[ASGIApp, ASGIApp, BuyButton, str]:
    from buybutton_demo_site.app import create_demo_site
    from buybutton_server.domain.embeds import mint_short_link

    blog_base = f"http://{settings.host}:{blog_port}"
    # The demo blog is the merchant's own site: it may frame checkout and be returned to.
    settings = replace(settings, allowed_origins=settings.allowed_origins or (blog_base,))
    migrate(settings.database_url)
    seed_demo_catalog(settings, image_base=blog_base)
    bb = BuyButton(secret_keys=list(settings.secret_keys), base_url=settings.base_url)
    # The blog mints its short links through the shop's database; no pool to leave open.
    sessions = session_factory(make_engine(settings.database_url, poolclass=NullPool))

    def shorten(link: CheckoutLink) -> str:
        return f"{settings.base_url}/l/{mint_short_link(sessions, link)}"

    return create_app(settings), create_demo_site(bb, shorten=shorten), bb, blog_base


def serve_demo(settings: Settings, *, blog_port: int, say: Callable[[str], None]) -> None:
    ensure_port_free(settings.host, settings.port, "--port")
    ensure_port_free(settings.host, blog_port, "--blog-port")
    shop_app, blog_app, bb, blog_base = build_demo(settings, blog_port)
    password = ensure_demo_admin(settings)
    shop = uvicorn.Server(
        uvicorn.Config(shop_app, host=settings.host, port=settings.port, log_level="warning")
    )
    blog = _FollowerServer(
        uvicorn.Config(blog_app, host=settings.host, port=blog_port, log_level="warning")
    )

    async def run() -> None:
        async def announce() -> None:
            while not (shop.started and blog.started):
                if shop.should_exit or blog.should_exit:
                    return
                await asyncio.sleep(0.05)
            say("buybutton demo is running (Ctrl-C stops it):")
            for label, url in demo_urls(bb, blog_base):
                say(f"  {label + ':':24} {url}")
            say("  Pay with test card 4242 4242 4242 4242 (any future date, any CVC),")
            say("  or tap 'Pay with Test Wallet'. Card 4000 0000 0000 0002 is declined.")
            say(f"  Snippet builder login: {DEMO_ADMIN} / {password} (new each run)")

        blog_task = asyncio.create_task(blog.serve())
        announce_task = asyncio.create_task(announce())
        try:
            await shop.serve()
        finally:
            blog.should_exit = True
            await blog_task
            announce_task.cancel()

    asyncio.run(run())
