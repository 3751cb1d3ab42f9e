"""The publishers' sites this shop trusts: ``BUYBUTTON_ALLOWED_ORIGINS`` plus the origins the
owner saved on ``/admin/settings`` (services/shop_profile.py caches those per worker for at
most 30 seconds, so a saved origin works without a restart)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from buybutton_server.services import shop_profile


async def load_origins(request: Request) -> tuple[str, ...]:
    """The allowed origins, remembered on the request; a stale cache on PostgreSQL is
    refreshed in the thread pool, never on the event loop."""
    state = request.app.state
    if shop_profile.needs_refresh(state.sessions):
        origins = await run_in_threadpool(
            shop_profile.allowed_origins, state.sessions, state.settings.allowed_origins
        )
    else:
        origins = shop_profile.allowed_origins(state.sessions, state.settings.allowed_origins)
    request.state.allowed_origins = origins
    return origins


def allowed_origins(request: Request) -> tuple[str, ...]:
    """The allowed origins :func:`load_origins` found for this request (or read now)."""
    found: tuple[str, ...] | None = getattr(request.state, "allowed_origins", None)
    if found is None:
        state = request.app.state
        found = shop_profile.allowed_origins(state.sessions, state.settings.allowed_origins)
    return found
