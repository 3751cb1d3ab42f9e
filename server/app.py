"""The application factory and its route table."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from buybutton.tokens import LinkSigner
from buybutton_server.body_limits import BodyLimitMiddleware
from buybutton_server.db import close_readers, make_engine, session_factory, write_session
from buybutton_server.domain import rate_limits
from buybutton_server.domain.analytics import EventBuffer
from buybutton_server.domain.orders import release_expired
from buybutton_server.domain.outbox import Sender, deliver_due
from buybutton_server.payments import PaymentProvider, make_provider
from buybutton_server.security import SecurityHeadersMiddleware
from buybutton_server.services import commissions, mail, retention
from buybutton_server.settings import Settings
from buybutton_server.templating import make_templates
from buybutton_server.views import (
    addresses,
    admin,
    admin_discounts,
    admin_images,
    admin_keys,
    admin_mail,
    admin_orders,
    admin_payees,
    admin_products,
    admin_returns,
    admin_shipping,
    admin_staff,
    admin_stock,
    admin_webhooks,
    api,
    checkout,
    counter,
    feeds,
    local_feed,
    order_links,
    permalinks,
    privacy,
    public,
    returns,
    sharing,
    storefront,
    ucp,
    webhooks,
)
from buybutton_server.views.errors import EXCEPTION_HANDLERS

log = logging.getLogger("buybutton")


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def sweep_forever(
    sessions: sessionmaker[Session],
    provider: PaymentProvider,
    every: float,
    stop: asyncio.Event,
    return_window: timedelta = timedelta(days=30),
) -> None:
    """Release reservations whose time ran out, retry due refunds, and send the payees'
    transfers that are due (sellers after fulfilment, creators after ``return_window``),
    every few seconds.

    Work runs in a thread that cancellation cannot interrupt, so shutdown sets ``stop`` and
    waits for the current run to end before the engine is disposed."""
    while not stop.is_set():
        await _pause(stop, every)
        if stop.is_set():
            return
        try:
            changed = await run_in_threadpool(release_expired, sessions, provider)
            if changed:
                log.info("sweeper settled %d orders", changed)
            await run_in_threadpool(_forget_old_rate_windows, sessions)
            await run_in_threadpool(
                functools.partial(
                    commissions.pay_due, sessions, provider, return_window=return_window
                )
            )
        except Exception:
            log.exception("sweeper run failed; trying again next time")


async def flush_forever(
    sessions: sessionmaker[Session], buffer: EventBuffer, every: float, stop: asyncio.Event
) -> None:
    """Write buffered impressions and clicks in batches; a last flush at shutdown."""
    while True:
        await _pause(stop, every)
        try:
            await run_in_threadpool(buffer.flush, sessions)
        except Exception:
            log.exception("analytics flush failed; the events wait for the next one")
        if stop.is_set():
            return


async def deliver_forever(
    sessions: sessionmaker[Session], sender: Sender, every: float, stop: asyncio.Event
) -> None:
    """Send due webhook deliveries (the outbox), every ``every`` seconds."""
    while not stop.is_set():
        try:
            while not stop.is_set():
                if not await run_in_threadpool(deliver_due, sessions, sender):
                    break  # nothing was due
        except Exception:
            log.exception("webhook delivery run failed; trying again next time")
        await _pause(stop, every)


async def prune_forever(
    sessions: sessionmaker[Session], settings: Settings, stop: asyncio.Event
) -> None:
    """The retention job (services/retention.py): a minute after start, then every hour."""
    wait = 60.0
    while not stop.is_set():
        await _pause(stop, wait)
        if stop.is_set():
            return
        wait = retention.EVERY_SECONDS
        try:
            log.info(
                "retention: removed %s",
                await run_in_threadpool(retention.prune, sessions, settings),
            )
        except Exception:
            log.exception("retention run failed; trying again next time")


def _forget_old_rate_windows(sessions: sessionmaker[Session]) -> None:
    with write_session(sessions) as session:
        rate_limits.forget_old(session, older_than=86_400)


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


def create_app(
    settings: Settings | None = None, *, payments: PaymentProvider | None = None
) -> Starlette:
    """Build the server. Settings default to the ``BUYBUTTON_*`` environment.

    The schema is not created here: run ``buybutton db upgrade`` (``serve`` and ``demo`` do).
    """
    settings = settings or Settings.from_env()
    provider = payments or make_provider(settings)

    routes = [
        Route("/", storefront.index, methods=["GET"]),
        Route("/c/{token}", checkout.checkout_page, methods=["GET"]),
        Route("/c/{token}", checkout.pay, methods=["POST"]),
        Route("/c/{token}/quote", checkout.quote, methods=["POST"]),
        *order_links.ROUTES,  # before /orders/{public_id}: /orders/find is its own page
        Route("/orders/{public_id}", checkout.order_page, methods=["GET"]),
        Route("/orders/{public_id}/abandon", checkout.abandon, methods=["POST"]),
        Route("/l/{code}", sharing.short_link, methods=["GET"]),
        Route("/l/{code}/qr.{kind:str}", sharing.short_link_qr, methods=["GET"]),
        Route("/p/{sku}", sharing.product_page, methods=["GET"]),
        *permalinks.ROUTES,
        Route("/p/{sku}/embed", sharing.product_embed, methods=["GET"]),
        Route("/oembed", sharing.oembed, methods=["GET"]),
        Route("/admin", lambda request: RedirectResponse("/admin/orders"), methods=["GET"]),
        Route("/admin/login", admin.login_page, methods=["GET"]),
        Route("/admin/login", admin.login, methods=["POST"]),
        Route("/admin/logout", admin.logout, methods=["POST"]),
        Route("/admin/snippets", admin.builder, methods=["GET"]),
        Route("/admin/snippets", admin.create_short_link, methods=["POST"]),
        Route("/admin/preview", admin.preview, methods=["GET"]),
        Route("/admin/dashboard", admin.dashboard, methods=["GET"]),
        Route("/admin/dashboard.csv", admin.dashboard_csv, methods=["GET"]),
        *admin_orders.ROUTES,
        *admin_products.ROUTES,
        *admin_stock.ROUTES,
        *admin_images.ROUTES,
        *admin_shipping.ROUTES,
        *admin_discounts.ROUTES,
        *admin_keys.ROUTES,
        *admin_webhooks.ROUTES,
        *admin_staff.ROUTES,
        *admin_mail.ROUTES,
        *admin_returns.ROUTES,
        *admin_payees.ROUTES,
        *ucp.ROUTES,
        *returns.ROUTES,
        *counter.ROUTES,
        *local_feed.ROUTES,
        *privacy.ROUTES,
        *feeds.ROUTES,
        Route("/webhooks/stripe", webhooks.stripe_webhook, methods=["POST"]),
        Route("/api/public/products/{sku}", public.product, methods=["GET"]),
        Route("/api/public/events", public.events, methods=["POST"]),
        *addresses.ROUTES,
        Route("/api/openapi.json", api.openapi_json, methods=["GET"]),
        *api.routes(),
        Route("/widgets/{name}", public.WidgetFiles().serve, methods=["GET"]),
        Route(
            "/favicon.ico",
            lambda request: RedirectResponse(
                "/static/favicon.svg", 301, {"Cache-Control": "public, max-age=31536000"}
            ),
            methods=["GET"],
        ),
        Mount("/static", StaticFiles(packages=[("buybutton_server", "static")]), name="static"),
        Route("/healthz", health, methods=["GET"]),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        stop = asyncio.Event()
        sender = Sender(allow_private=not settings.production, ports=settings.webhook_ports)
        workers = [
            asyncio.create_task(
                sweep_forever(
                    app.state.sessions,
                    provider,
                    settings.sweep_seconds,
                    stop,
                    timedelta(days=settings.return_window_days),
                )
            ),
            asyncio.create_task(
                deliver_forever(app.state.sessions, sender, settings.webhook_seconds, stop)
            ),
            asyncio.create_task(
                flush_forever(app.state.sessions, app.state.analytics, settings.flush_seconds, stop)
            ),
            asyncio.create_task(prune_forever(app.state.sessions, settings, stop)),
            asyncio.create_task(mail.send_forever(app.state.sessions, settings, stop)),
        ]
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*workers, return_exceptions=True)
            close_readers(engine)
            engine.dispose()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            Middleware(
                SecurityHeadersMiddleware,
                origin=settings.base_url,
                hsts=settings.secure_cookies,
                allow_http_images=not settings.production,
                cross_site_paths=("/api/", "/webhooks/"),
                extra_sources=provider.content_security_policy(),
            ),
            # Inside the headers: a 413 or 408 still gets them.
            Middleware(BodyLimitMiddleware),
        ],
    )
    app.state.settings = settings
    app.state.payments = provider
    app.state.link_signer = LinkSigner(settings.secret_keys, cache_size=4096)
    app.state.analytics = EventBuffer()
    app.state.templates = make_templates()
    return app
