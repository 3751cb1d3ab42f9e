"""One place that turns errors into answers: an HTML page for shoppers, JSON for the API.

No stack trace ever reaches a response; unexpected errors are logged with their trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.templating import Jinja2Templates

from buybutton_server.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    InternalError,
    InvalidInput,
    NotFound,
    NotImplementedHere,
    RateLimited,
    ServiceUnavailable,
    ShopError,
    TooLarge,
    Unauthorized,
    Unavailable,
)
from buybutton_server.logs import redact_path
from buybutton_server.services.database import DATABASE_DOWN
from buybutton_server.views.origins import shop_identity

log = logging.getLogger("buybutton")

# The one table from an error's kind to an HTTP status. The nearest kind in the error's
# class hierarchy decides; an error of no listed kind is a 400.
STATUS_BY_KIND: dict[type[ShopError], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    TooLarge: 413,
    InvalidInput: 422,
    RateLimited: 429,
    InternalError: 500,
    NotImplementedHere: 501,
    Unavailable: 503,
}


def status_of(error: ShopError) -> int:
    for kind in type(error).__mro__:
        status = STATUS_BY_KIND.get(kind)
        if status is not None:
            return status
    return 400


def headers_of(error: ShopError) -> dict[str, str]:
    if isinstance(error, RateLimited):
        return {"Retry-After": str(error.retry_after)}
    if isinstance(error, Unauthorized):
        return {"WWW-Authenticate": 'Bearer realm="buybutton"'}
    return {}


def error_json(error: ShopError) -> JSONResponse:
    """The API's answer for an error: ``{"error": {"code", "message"}}`` and its status."""
    return JSONResponse(
        {"error": {"code": error.code, "message": error.message}},
        status_code=status_of(error),
        headers=headers_of(error),
    )


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def render_error(request: Request, error: ShopError, **context: object) -> Response:
    if wants_json(request):
        return error_json(error)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "message.html",
        {"error": error, "shop_identity": shop_identity(request), **context},
        status_code=status_of(error),
        headers={"Cache-Control": "no-store", **headers_of(error)},
    )


async def shop_error(request: Request, exc: Exception) -> Response:
    error = exc if isinstance(exc, ShopError) else InternalError()
    return render_error(request, error, **error.context)


async def database_down(request: Request, exc: Exception) -> Response:
    log.error("database unavailable: %s", exc.__class__.__name__, exc_info=exc)
    return render_error(request, ServiceUnavailable())


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (404 for no route, 405 for a wrong method, ...)."""
    status = exc.status_code if isinstance(exc, HTTPException) else 400
    if status == 404:
        return render_error(request, NotFound())
    detail = exc.detail if isinstance(exc, HTTPException) and isinstance(exc.detail, str) else None
    response = render_error(request, BadRequest(detail, code="http_error", title="Request refused"))
    response.status_code = status
    return response


async def unexpected(request: Request, exc: Exception) -> Response:
    # The path may hold a link token (whose payload names the shopper): never log it whole.
    log.exception(
        "unexpected error on %s %s", request.method, redact_path(request.url.path), exc_info=exc
    )
    return render_error(request, InternalError())


Handler = Callable[[Request, Exception], Awaitable[Response]]

EXCEPTION_HANDLERS: dict[Any, Handler] = {
    ShopError: shop_error,
    **dict.fromkeys(DATABASE_DOWN, database_down),
    HTTPException: http_error,
    Exception: unexpected,
}
