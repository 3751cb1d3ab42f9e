"""UCP (Universal Commerce Protocol, 2026-04-08) for shopping agents: the business profile
at ``/.well-known/ucp`` and the checkout capability's REST binding under ``/ucp``:

- ``POST /ucp/checkout-sessions`` (201), ``GET`` / ``PUT /ucp/checkout-sessions/{id}``,
  ``POST /ucp/checkout-sessions/{id}/complete`` and ``.../cancel``;
- ``GET /ucp/continue/{id}``: the ``continue_url`` a buyer opens to finish on our checkout
  (its id is the session's ``continue_id``, never the session id the API takes);
- ``GET /ucp/handlers/test`` and ``/ucp/handlers/test.json``: the test payment handler's
  ``spec`` and ``schema``.

Every REST call names its platform in ``UCP-Agent``; every write carries an
``Idempotency-Key``. Protocol errors answer ``{"code", "content"}`` with their HTTP status
(400, 409, 422, 424, 429, 503); business outcomes answer 200 with UCP ``messages``. See
docs/ucp.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from buybutton_server.domain import ucp_handler
from buybutton_server.domain.ucp_idempotency import fingerprint
from buybutton_server.domain.ucp_profiles import VERSION, Agent, NegotiationFailed, ProfileCache
from buybutton_server.errors import (
    BadRequest,
    Conflict,
    InvalidInput,
    RateLimited,
    ShopError,
    TooLarge,
    Unavailable,
)
from buybutton_server.services import ucp, ucp_complete
from buybutton_server.services.ucp import Answer, Shop
from buybutton_server.views.errors import render_error

NO_STORE = {"Cache-Control": "no-store"}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers={**NO_STORE, **(headers or {})},
    )


def _problem(
    status: int, code: str, content: str, headers: dict[str, str] | None = None
) -> Response:
    return _json(status, {"code": code, "content": content}, headers)


def _cache(request: Request) -> ProfileCache:
    state = request.app.state
    cache = getattr(state, "ucp_profiles", None)
    if not isinstance(cache, ProfileCache):
        cache = ProfileCache()
        state.ucp_profiles = cache
    return cache


async def well_known(request: Request) -> Response:
    state = request.app.state
    body = ucp.business_profile(state.settings.base_url, state.payments)
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})


async def handler_spec(request: Request) -> Response:
    text = ucp_handler.spec(request.app.state.settings.base_url)
    return Response(
        text, media_type="text/markdown; charset=utf-8", headers={"Cache-Control": _PUBLIC}
    )


async def handler_schema(request: Request) -> Response:
    body = ucp_handler.schema(request.app.state.settings.base_url)
    return JSONResponse(
        body, media_type="application/schema+json", headers={"Cache-Control": _PUBLIC}
    )


_PUBLIC = "public, max-age=3600"


async def _shop(request: Request) -> Shop | Response:
    state = request.app.state
    settings = state.settings
    try:
        agent = await run_in_threadpool(
            ucp.negotiate,
            _cache(request),
            request.headers.get("ucp-agent"),
            allow_private=not settings.production,
            ports=settings.webhook_ports,
        )
    except NegotiationFailed as failed:
        if failed.status == 200:  # capabilities_incompatible: a UCP error envelope
            note = {
                "type": "error",
                "code": failed.code,
                "content": failed.message,
                "severity": "unrecoverable",
            }
            return _json(200, {"ucp": {"version": VERSION, "status": "error"}, "messages": [note]})
        retry = {"Retry-After": "5"} if failed.status == 503 else None
        return _problem(failed.status, failed.code, failed.message, retry)
    return Shop(
        factory=state.sessions,
        agent=agent,
        base_url=settings.base_url,
        provider=state.payments,
        hold_for=timedelta(seconds=settings.reservation_seconds),
    )


def _refusal(error: ShopError) -> Response:
    if isinstance(error, RateLimited):
        return _problem(429, error.code, error.message, {"Retry-After": str(error.retry_after)})
    if isinstance(error, Unavailable):
        return _problem(503, error.code, error.message, {"Retry-After": "30"})
    if isinstance(error, TooLarge):
        return _problem(413, error.code, error.message)
    if isinstance(error, Conflict):
        return _problem(409, error.code, error.message)
    if isinstance(error, BadRequest | InvalidInput):
        return _problem(400, error.code, error.message)
    return _problem(500, "internal_error", "Something went wrong on our side; try again.")


async def _body(request: Request) -> tuple[bytes, object]:
    raw = await request.body()
    if not raw.strip():
        return raw, {}
    try:
        return raw, json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # nested too deep: not ours
        raise BadRequest("The body must be JSON.", code="invalid_request") from None


async def _write(request: Request, run: Callable[[Shop, object, str], Answer]) -> Response:
    shop = await _shop(request)
    if isinstance(shop, Response):
        return shop
    try:
        raw, data = await _body(request)
        key = request.headers.get("idempotency-key")
        print_ = fingerprint(request.method, request.url.path, raw)
        answer = await run_in_threadpool(
            ucp.run_write, shop, key, print_, lambda: run(shop, data, key or "")
        )
    except ShopError as error:
        return _refusal(error)
    return _json(answer.status, answer.body)


async def create_session(request: Request) -> Response:
    return await _write(request, lambda shop, data, _: ucp.create(shop, data))


async def update_session(request: Request) -> Response:
    public_id = request.path_params["id"]
    return await _write(request, lambda shop, data, _: ucp.update(shop, public_id, data))


async def complete_session(request: Request) -> Response:
    public_id = request.path_params["id"]
    return await _write(
        request, lambda shop, data, key: ucp_complete.complete(shop, public_id, data, key)
    )


async def cancel_session(request: Request) -> Response:
    public_id = request.path_params["id"]
    return await _write(request, lambda shop, data, _: ucp.cancel(shop, public_id))


async def get_session(request: Request) -> Response:
    shop = await _shop(request)
    if isinstance(shop, Response):
        return shop
    try:
        answer = await run_in_threadpool(ucp.get, shop, request.path_params["id"])
    except ShopError as error:
        return _refusal(error)
    return _json(answer.status, answer.body)


async def continue_checkout(request: Request) -> Response:
    """The buyer's way from an agent to our checkout (no UCP-Agent: a browser)."""
    state = request.app.state
    shop = Shop(
        factory=state.sessions,
        agent=_NOBODY,
        base_url=state.settings.base_url,
        provider=state.payments,
    )
    try:
        location = await run_in_threadpool(ucp_complete.handoff, shop, request.path_params["id"])
    except ShopError as error:
        response = render_error(request, error)
        response.headers.update({**NO_STORE, "Referrer-Policy": "no-referrer"})
        return response
    return RedirectResponse(
        location, status_code=303, headers={**NO_STORE, "Referrer-Policy": "no-referrer"}
    )


_NOBODY = Agent(profile_url="", version=VERSION, capabilities={})

ROUTES: list[BaseRoute] = [
    Route("/.well-known/ucp", well_known, methods=["GET"]),
    Route("/ucp/checkout-sessions", create_session, methods=["POST"]),
    Route("/ucp/checkout-sessions/{id}", get_session, methods=["GET"]),
    Route("/ucp/checkout-sessions/{id}", update_session, methods=["PUT"]),
    Route("/ucp/checkout-sessions/{id}/complete", complete_session, methods=["POST"]),
    Route("/ucp/checkout-sessions/{id}/cancel", cancel_session, methods=["POST"]),
    Route("/ucp/continue/{id}", continue_checkout, methods=["GET"]),
    Route(ucp_handler.SPEC_PATH, handler_spec, methods=["GET"]),
    Route(ucp_handler.SCHEMA_PATH, handler_schema, methods=["GET"]),
]
