"""One place that turns errors into answers: an HTML page for shoppers, JSON for the API.

No stack trace ever reaches a response; unexpected errors are logged with their trace.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from buybutton_server.errors import NotFound, ServiceUnavailable, ShopError

log = logging.getLogger("buybutton")


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def render_error(request: Request, error: ShopError, **context: object) -> Response:
    if wants_json(request):
        return JSONResponse(
            {"error": {"code": error.code, "message": error.message}},
            status_code=error.status,
            headers=error.headers,
        )
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "message.html",
        {"error": error, **context},
        status_code=error.status,
        headers={"Cache-Control": "no-store", **error.headers},
    )


async def shop_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShopError)
    return render_error(request, exc, **getattr(exc, "context", {}))


async def database_down(request: Request, exc: Exception) -> Response:
    log.error("database unavailable: %s", exc.__class__.__name__, exc_info=exc)
    return render_error(request, ServiceUnavailable())


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return render_error(request, NotFound())
    error = ShopError(exc.detail if isinstance(exc.detail, str) else None)
    error.status = exc.status_code
    error.code = "http_error"
    error.title = "Request refused"
    return render_error(request, error)


async def unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    error = ShopError("Something went wrong on our side. Nothing was charged; please try again.")
    error.status = 500
    error.code = "internal_error"
    error.title = "Something went wrong"
    return render_error(request, error)


EXCEPTION_HANDLERS = {
    ShopError: shop_error,
    OperationalError: database_down,
    InterfaceError: database_down,
    HTTPException: http_error,
    Exception: unexpected,
}
