"""The application factory and its route table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from buybutton.tokens import LinkSigner
from buybutton_server.db import make_engine, session_factory
from buybutton_server.payments import PaymentProvider, make_provider
from buybutton_server.security import SecurityHeadersMiddleware
from buybutton_server.settings import Settings
from buybutton_server.templating import make_templates
from buybutton_server.views import checkout, public
from buybutton_server.views.errors import EXCEPTION_HANDLERS


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


def create_app(
    settings: Settings | None = None, *, payments: PaymentProvider | None = None
) -> Starlette:
    """Build the server. Settings default to the ``BUYBUTTON_*`` environment.

    The schema is not created here: run ``buybutton db upgrade`` (``serve`` and ``demo`` do).
    """
    settings = settings or Settings.from_env()
    provider = payments or make_provider(settings.payment_provider)

    routes = [
        Route("/c/{token}", checkout.checkout_page, methods=["GET"]),
        Route("/c/{token}", checkout.pay, methods=["POST"]),
        Route("/orders/{public_id}", checkout.order_page, methods=["GET"]),
        Route("/api/public/products/{sku}", public.product, methods=["GET"]),
        Route("/widgets/{name}", public.WidgetFiles().serve, methods=["GET"]),
        Mount("/static", StaticFiles(packages=[("buybutton_server", "static")]), name="static"),
        Route("/healthz", health, methods=["GET"]),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessions = session_factory(engine)
        try:
            yield
        finally:
            engine.dispose()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[
            Middleware(
                SecurityHeadersMiddleware,
                origin=settings.base_url,
                hsts=settings.secure_cookies,
                allow_http_images=not settings.production,
                cross_site_paths=("/api/",),
            )
        ],
    )
    app.state.settings = settings
    app.state.payments = provider
    app.state.link_signer = LinkSigner(settings.secret_keys)
    app.state.templates = make_templates()
    return app
