"""Request bodies: a size limit per route and a time limit, enforced while the body streams.

A view that reads its body never sees more than its route's limit: a ``Content-Length``
above it is refused with 413 before a byte of the body is read, and a chunked body is
counted as it arrives and cut off with 413 at the limit. Nothing here buffers: messages pass
through one at a time, so memory per request stays at the server's read buffer whatever the
client sends. A body that stalls (no bytes for ``idle_seconds``) or takes longer than
``total_seconds`` is answered with 408 and the connection closed.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from buybutton_server.errors import TooLarge

KB = 1024
MB = 1024 * KB

# Longest prefix first; the first match decides. Documented in docs/security.md.
ROUTE_LIMITS: tuple[tuple[str, int], ...] = (
    ("/api/public/events", 16 * KB),  # impression beacons: at most 50 links
    ("/webhooks/", 512 * KB),  # Stripe sends events well under this
    ("/api/", 1 * MB),
    ("/c/", 64 * KB),  # the checkout form
    ("/admin/products/*/images", 5 * MB + 64 * KB),  # one picture (5 MB) and its form
    ("/admin/stock", 1 * MB),  # the stock sheet and its CSV
    ("/admin", 64 * KB),  # sign-in and sign-out forms
)
DEFAULT_LIMIT = 64 * KB
IDLE_SECONDS = 10.0
TOTAL_SECONDS = 60.0


class BodyTooLarge(TooLarge):
    code = "body_too_large"
    title = "Request too large"


class BodyTooSlow(Exception):
    """Not a :class:`ShopError`: no view answers it, the middleware does (408)."""

    code = "body_timeout"
    message = "The request body arrived too slowly."


def limit_for(path: str, limits: Sequence[tuple[str, int]], default: int) -> int:
    for prefix, limit in limits:
        if _starts_with(path, prefix):
            return limit
    return default


def _starts_with(path: str, prefix: str) -> bool:
    """``prefix`` may hold one ``*``, which stands for one path segment."""
    head, star, tail = prefix.partition("*")
    if not star:
        return path.startswith(prefix)
    segment, slash, rest = (
        path[len(head) :].partition("/") if path.startswith(head) else ("", "", "")
    )
    return bool(segment) and (slash + rest).startswith(tail)


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Sequence[tuple[str, int]] = ROUTE_LIMITS,
        default: int = DEFAULT_LIMIT,
        idle_seconds: float = IDLE_SECONDS,
        total_seconds: float = TOTAL_SECONDS,
    ) -> None:
        self.app = app
        self.limits = tuple(limits)
        self.default = default
        self.idle_seconds = idle_seconds
        self.total_seconds = total_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: str | None = None
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared, has_body = value.decode("latin-1"), True
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body and scope["method"] in ("GET", "HEAD"):
            # The fast path for pages: a GET without Content-Length or Transfer-Encoding
            # carries no body in HTTP/1.1, so there is nothing to count.
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"], self.limits, self.default)
        if declared is not None:
            if not (declared.isdecimal() and declared.isascii() and len(declared) <= 18):
                await _refuse(send, 400, "bad_request", "Content-Length is not a number.")
                return
            if int(declared) > limit:
                page = _wants_page(scope)
                await _refuse(send, 413, BodyTooLarge.code, _too_large(limit), page=page)
                return
        received = 0
        complete = False
        deadline = time.monotonic() + self.total_seconds
        started = False

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete:  # the body is read; now only a disconnect can come, whenever
                return await receive()
            wait = min(self.idle_seconds, deadline - time.monotonic())
            try:
                async with asyncio.timeout(max(wait, 0.001)):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(_too_large(limit))
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not complete:
                    # The rest of the body will not be read: tell the client to stop.
                    message = {**message, "headers": [*message["headers"], CLOSE]}
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except (BodyTooLarge, BodyTooSlow) as error:
            # A view that let the refusal through, or one outside the exception handlers.
            if started:
                raise
            status = 413 if isinstance(error, BodyTooLarge) else 408
            await _refuse(send, status, error.code, error.message, page=_wants_page(scope))


CLOSE = (b"connection", b"close")


def _too_large(limit: int) -> str:
    return f"The request body is larger than this address accepts ({limit // KB} KB)."


def _wants_page(scope: Scope) -> bool:
    """A browser posting a form (a merchant's upload in the admin) gets a page, not JSON."""
    if scope["path"].startswith("/api/"):
        return False
    accept = next((v for n, v in scope["headers"] if n == b"accept"), b"")
    return b"text/html" in accept


# Our own words only (no request data), so nothing here needs escaping.
_PAGE = (
    '<!doctype html><html lang="en"><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>Too large</title><main><h1>That was too large</h1><p>{message}</p>"
    "<p>Go back and choose a smaller file.</p></main></html>"
)


async def _refuse(send: Send, status: int, code: str, message: str, *, page: bool = False) -> None:
    if page:
        body, kind = _PAGE.format(message=message).encode(), b"text/html; charset=utf-8"
    else:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        kind = b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", kind),
                (b"content-length", str(len(body)).encode()),
                CLOSE,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
