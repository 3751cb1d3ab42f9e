"""The publishers' sites this shop trusts: ``BUYBUTTON_ALLOWED_ORIGINS`` plus the origins the
owner saved on ``/admin/settings`` (services/shop_profile.py caches those per worker for at
most 30 seconds, so a saved origin works without a restart)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from buybutton_server.domain.shop_profile import ShopIdentity
from buybutton_server.services import shop_profile


async def load_origins(request: Request) -> tuple[str, ...]:
    """The allowed origins, remembered on the request with the shop's identity (the same
    cached row, see :func:`shop_identity`); a stale cache on PostgreSQL is refreshed in the
    thread pool, never on the event loop."""
    state = request.app.state
    configured = state.settings.allowed_origins
    if shop_profile.needs_refresh(state.sessions):
        origins, shop = await run_in_threadpool(
            shop_profile.origins_and_identity, state.sessions, configured
        )
    else:
        origins, shop = shop_profile.origins_and_identity(state.sessions, configured)
    request.state.allowed_origins = origins
    request.state.shop_identity = shop
    return origins


def shop_identity(request: Request) -> ShopIdentity | None:
    """The shop's identity for a shopper's page: None until the owner has configured any
    of it (the page then looks as it always did), or when :func:`load_origins` has not run
    for this request (pages outside the checkout read no profile)."""
    found: ShopIdentity | None = getattr(request.state, "shop_identity", None)
    if found is None or found == ShopIdentity(default_locale=found.default_locale):
        return None
    return found


def allowed_origins(request: Request) -> tuple[str, ...]:
    """The allowed origins :func:`load_origins` found for this request (or read now)."""
    found: tuple[str, ...] | None = getattr(request.state, "allowed_origins", None)
    if found is None:
        state = request.app.state
        found = shop_profile.allowed_origins(state.sessions, state.settings.allowed_origins)
    return found
