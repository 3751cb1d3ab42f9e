"""``/feeds/google-local.xml?key=...``: the local inventory feed (stock per store, pickup
method and SLA) for Google. As the product feeds (:mod:`.feeds`): a wrong key answers as a
path we do not have (404); a repeat fetch with ``If-None-Match`` / ``If-Modified-Since``
gets 304 from the cheap validator; a full answer is streamed."""

from __future__ import annotations

from email.utils import format_datetime

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from buybutton_server.services import local_feed
from buybutton_server.views.feeds import CACHE, not_modified


async def feed(request: Request) -> Response:
    state = request.app.state
    key = request.query_params.get("key", "")
    opened = await run_in_threadpool(
        local_feed.key_opens, state.sessions, state.settings.secret_keys, key
    )
    if not opened:
        raise HTTPException(404)  # the same answer as any path we do not serve
    validator = await run_in_threadpool(local_feed.validator, state.sessions)
    headers = {
        "ETag": validator.etag,
        "Last-Modified": format_datetime(validator.last_modified, usegmt=True),
        "Cache-Control": CACHE,
        "X-Robots-Tag": "noindex",
    }
    if not_modified(request, validator):
        return Response(status_code=304, headers=headers)
    body = local_feed.stream(state.sessions, state.settings.base_url)
    return StreamingResponse(body, media_type=local_feed.MEDIA_TYPE, headers=headers)


ROUTES: list[BaseRoute] = [Route(f"/feeds/{local_feed.FILENAME}", feed, methods=["GET"])]
