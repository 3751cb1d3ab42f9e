"""Starting the server: what ``buybutton serve`` and ``buybutton demo`` run (their commands
are in ``buybutton_server.commands.serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import shlex
import socket
from collections.abc import Callable, Generator
from dataclasses import replace
from typing import Any

import uvicorn
from sqlalchemy.pool import NullPool
from starlette.types import ASGIApp

from buybutton import BuyButton
from buybutton.errors import ConfigurationError
from buybutton.tokens import CheckoutLink
from buybutton_server.app import create_app
from buybutton_server.db import make_engine, migrate, open_sessions, session_factory, write_session
from buybutton_server.db.models import utcnow
from buybutton_server.db.sessions import describe_url
from buybutton_server.domain.catalog import upsert_products
from buybutton_server.domain.catalog_import import read_catalog_file, validate_rows
from buybutton_server.logs import uvicorn_log_config
from buybutton_server.services.orders import PaidOrderWatch
from buybutton_server.settings import Settings

log = logging.getLogger("buybutton")


class _FollowerServer(uvicorn.Server):
    """A second server in the same process: the first one owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


# -- slow clients ------------------------------------------------------------------------------
# uvicorn closes an idle kept-alive connection after ``timeout_keep_alive``, but has no limit
# on how long a request's head may take: a client sending a header line now and then holds
# its connection (and a slot of ``limit_concurrency``) forever. The protocol below closes a
# connection whose request head is not complete ``HEADER_SECONDS`` after its first byte.
# Slow bodies are the ASGI layer's (``buybutton_server.body_limits``: 408).

HEADER_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 5
MAX_HEAD_BYTES = 16 * 1024  # h11's limit on a request head (httptools has its own, 80 KB)


def http_protocol(base: Any, header_seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol ``base`` with a deadline on each request's head."""

    class HeaderDeadline(base):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._head_timer: asyncio.TimerHandle | None = None
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
                self._arm()  # the first byte of the next request on a kept-alive connection
            super().data_received(data)
            if self._head_timer is not None and self.cycle is not self._head_cycle:
                self._disarm()  # the head is complete: the request has started

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._head_cycle = self.cycle
            self._head_timer = self.loop.call_later(header_seconds, self._head_too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if self.cycle is self._head_cycle and not self.transport.is_closing():
                self.transport.close()

    HeaderDeadline.__name__ = HeaderDeadline.__qualname__ = f"{base.__name__}WithHeaderDeadline"
    return HeaderDeadline


def _default_protocol() -> Any:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - uvicorn[standard] brings httptools
        from uvicorn.protocols.http.h11_impl import H11Protocol

        return H11Protocol
    return HttpToolsProtocol


HttpProtocol = http_protocol(_default_protocol(), HEADER_SECONDS)


def connection_options(settings: Settings) -> dict[str, Any]:
    """What ``uvicorn.run``/``uvicorn.Config`` get to bound slow and numerous clients."""
    return {
        "http": "buybutton_server.runner:HttpProtocol",  # by name: worker processes import it
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "limit_concurrency": settings.max_connections,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
    }


# -- development mode stays on this machine -------------------------------------------------------

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(settings: Settings, *, unsafe_public_dev: bool = False) -> None:
    """Development mode (the test provider, the public development key, no SSRF guard)
    listens on loopback only, unless ``--unsafe-public-dev`` says otherwise, loudly."""
    if settings.production or is_loopback(settings.host):
        return
    if not unsafe_public_dev:
        raise ConfigurationError(
            f"BUYBUTTON_HOST={settings.host} is not a loopback address, and development mode "
            "(BUYBUTTON_ENV is not production) lets any visitor pay with the test provider, "
            "uses the public development key and has no SSRF guard; listen on 127.0.0.1, set "
            "BUYBUTTON_ENV=production with production settings, or pass --unsafe-public-dev"
        )
    warning = (
        f"UNSAFE: serving DEVELOPMENT mode on {settings.host}:{settings.port} "
        "(--unsafe-public-dev): anyone who can reach it can 'pay' with the test provider, "
        "forge links signed with the public development key and make it fetch internal "
        "addresses. Never do this on a network you do not control."
    )
    for _ in range(3):
        log.warning(warning)
    print("!" * 78 + "\n" + warning + "\n" + "!" * 78, flush=True)


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


def serve(settings: Settings, *, workers: int = 1, unsafe_public_dev: bool = False) -> None:
    """Migrate once, then serve. With several workers each process builds its own app from the
    same environment; everything that must be shared (orders, stock, idempotency, rate limits)
    lives in the database."""
    check_binding(settings, unsafe_public_dev=unsafe_public_dev)
    ensure_port_free(settings.host, settings.port, "BUYBUTTON_PORT or --port")
    migrate(settings.database_url)
    print(f"buybutton serve: database {describe_url(settings.database_url)}", flush=True)
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
        **connection_options(settings),
    )


def seed_demo_catalog(settings: Settings, *, image_base: str) -> None:
    """Load the demo catalog shipped with the demo site; images are served by the blog."""
    from buybutton_demo_site import catalog_path
    from buybutton_server.domain.discount_codes import seed_demo_codes
    from buybutton_server.domain.locations import seed_demo_stores
    from buybutton_server.domain.shipping import seed_demo_shipping
    from buybutton_server.domain.shop_profile import seed_demo_identity

    rows = [
        (where, {**row, "image_url": image_base + row["image_url"]})
        for where, row in read_catalog_file(catalog_path())
    ]
    with open_sessions(settings.database_url) as sessions, write_session(sessions) as session:
        upsert_products(session, validate_rows(rows))
        seed_demo_shipping(session)  # only when the shop has no zone yet
        seed_demo_stores(session)  # only when the shop has no location but MAIN
        seed_demo_codes(session)
        seed_demo_identity(session)  # unless the owner has set one


DEMO_ADMIN = "demo@buybutton.test"


def demo_urls(bb: BuyButton, blog_base: str) -> list[tuple[str, str]]:
    return [
        ("Blog post", f"{blog_base}/blog/pour-over-at-home"),
        ("Shop the look", f"{blog_base}/blog/shop-the-look"),
        ("Pick up today", f"{blog_base}/blog/pick-up-today"),
        ("Shoppable video", f"{blog_base}/videos/pour-over"),
        ("Social feed", f"{blog_base}/social"),
        ("Newsletter", f"{blog_base}/newsletter?subscriber=ana@example.com"),
        ("Checkout link", bb.checkout_link("DRIPPER-01", source="demo", campaign="cli")),
        ("Product page (oEmbed)", f"{bb.base_url}/p/DRIPPER-01"),
        ("Admin", f"{bb.base_url}/admin/orders"),
        ("Snippet builder", f"{bb.base_url}/admin/snippets"),
    ]


def ensure_demo_admin(settings: Settings) -> str | None:
    """An owner's login for the demo's admin, with a fresh password each run (printed)."""
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
    check_binding(settings)
    ensure_port_free(settings.host, settings.port, "--port")
    ensure_port_free(settings.host, blog_port, "--blog-port")
    shop_app, blog_app, bb, blog_base = build_demo(settings, blog_port)
    password = ensure_demo_admin(settings)
    shop = uvicorn.Server(
        uvicorn.Config(
            shop_app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            **connection_options(settings),
        )
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
            say(f"  Database:                {describe_url(settings.database_url)}")
            say("  Point other buybutton commands at it (orders, stats, keys...) with:")
            say(f"    export BUYBUTTON_DATABASE_URL={shlex.quote(settings.database_url)}")
            say(f"  Admin login: {DEMO_ADMIN} / {password} (new each run)")

        async def tell_paid_orders() -> None:
            # One line per paid order (number and total only), checked every second.
            with open_sessions(settings.database_url) as sessions:
                watch = PaidOrderWatch(sessions, utcnow())
                while True:
                    await asyncio.sleep(1)
                    for line in await asyncio.to_thread(watch.news):
                        say(f"  {line}")

        blog_task = asyncio.create_task(blog.serve())
        announce_task = asyncio.create_task(announce())
        paid_task = asyncio.create_task(tell_paid_orders())
        try:
            await shop.serve()
        finally:
            blog.should_exit = True
            await blog_task
            announce_task.cancel()
            paid_task.cancel()

    asyncio.run(run())
