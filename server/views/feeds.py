"""``/feeds/{channel}.{xml|csv}?key=...``: product feeds for Google Merchant Center, Meta,
TikTok and Pinterest. A wrong key answers exactly as a path we do not have (404), so a feed's
existence is never revealed. A repeat fetch with ``If-None-Match`` or ``If-Modified-Since``
gets 304 from a cheap validator, without generating the feed; a full answer is streamed."""

from __future__ import annotations

import re
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from buybutton_server.domain.feeds import Validator
from buybutton_server.services import feeds, feeds_sharing
from buybutton_server.services.feeds_sharing import PreviewCache

# Channels fetch hourly or daily; a minute of caching keeps availability within a minute.
CACHE = "private, max-age=60"


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _modified_since(header: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None


def not_modified(request: Request, validator: Validator) -> bool:
    """RFC 9110 section 13.2.2: If-None-Match decides when present, else If-Modified-Since."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = _etags(if_none_match)
        return "*" in tags or validator.etag in tags
    since = _modified_since(request.headers.get("if-modified-since", ""))
    return since is not None and validator.last_modified <= since


async def feed(request: Request) -> Response:
    state = request.app.state
    chosen = await run_in_threadpool(
        feeds.open_feed,
        state.sessions,
        state.settings.secret_keys,
        request.path_params["filename"],
        request.query_params.get("key", ""),
    )
    if chosen is None:
        raise HTTPException(404)  # the same answer as any path we do not serve
    currency = feeds.feed_currency(request.query_params.get("currency"))
    validator = await run_in_threadpool(feeds.validator, state.sessions, chosen, currency)
    headers = {
        "ETag": validator.etag,
        "Last-Modified": format_datetime(validator.last_modified, usegmt=True),
        "Cache-Control": CACHE,
        "X-Robots-Tag": "noindex",
    }
    if not_modified(request, validator):
        return Response(status_code=304, headers=headers)
    body = feeds.stream(state.sessions, chosen, state.settings.base_url, currency)
    # A sync iterator: Starlette pulls each chunk in the thread pool.
    return StreamingResponse(body, media_type=chosen.media_type, headers=headers)


_PREVIEWS = PreviewCache()
_DIGEST = re.compile(r"^[0-9a-f]{24}\.jpg$")


async def preview(request: Request) -> Response:
    """``/media/previews/{sku}/{digest}.jpg``: a product's link preview (1200x630 JPEG),
    immutable at its content address; an old address redirects to the current one."""
    state = request.app.state
    name = request.path_params["name"]
    if not _DIGEST.match(name):
        raise HTTPException(404)
    found = await run_in_threadpool(
        feeds_sharing.preview,
        state.sessions,
        _PREVIEWS,
        request.path_params["sku"],
        name.removesuffix(".jpg"),
    )
    if found is None:
        raise HTTPException(404)
    if found.body is None:
        return RedirectResponse(found.moved_to, 301, {"Cache-Control": "public, max-age=300"})
    headers = {"Cache-Control": "public, max-age=31536000, immutable"}
    return Response(found.body, media_type="image/jpeg", headers=headers)


ROUTES: list[BaseRoute] = [
    Route("/feeds/{filename}", feed, methods=["GET"]),
    Route("/media/previews/{sku}/{name}", preview, methods=["GET"]),
]
