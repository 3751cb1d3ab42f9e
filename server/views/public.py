"""Public, read-only endpoints that embeds call from any site: product JSON and widget files.

Both answer with ``Access-Control-Allow-Origin: *``: they expose nothing a product page would
not, and carry no credentials.
"""

from __future__ import annotations

import gzip
import hashlib
from importlib.resources import files

import rcssmin
import rjsmin
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from buybutton_server.domain import locales
from buybutton_server.errors import NotFound, ProductUnavailable
from buybutton_server.services import catalog_reads, impressions
from buybutton_server.services.database import run_read
from buybutton_server.views import languages
from buybutton_server.views.errors import error_json
from buybutton_server.views.origins import load_origins

CORS = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}


async def product(request: Request) -> Response:
    state = request.app.state
    settings = state.settings
    origins = await load_origins(request)
    lang = languages.choose(request)  # the browser's language: prices and words as it reads
    data = await run_read(
        state.sessions,
        catalog_reads.public_product,
        state.sessions,
        request.path_params["sku"],
        base_url=settings.base_url,
        # The overlay checkout may be framed only by the merchant's registered sites.
        overlay=request.headers.get("origin") in origins,
        currency=request.query_params.get("currency", "")[:3] or None,  # the link's (widget)
    )
    if data is None:
        response = error_json(ProductUnavailable("No product with that sku is for sale."))
        response.headers.update(CORS)
        return response
    data["text"] = {  # the widget's words (widgets/*.js), in the same language
        "sold_out": locales.gettext("Sold out", lang),
        "sold_out_short": locales.gettext("sold out", lang),
        "in_stock": locales.gettext("In stock", lang),
        "low_stock": (
            locales.gettext("only %(num)d left", lang) % {"num": data["low_stock"]}
            if data["low_stock"]
            else None
        ),
    }
    return JSONResponse(
        data,
        headers={
            **CORS,
            "Cache-Control": "public, max-age=15",
            "Vary": "Origin, Accept-Language, Cookie",
            "Content-Language": lang.tag,
        },
    )


def minify(name: str, source: str) -> bytes:
    """What a browser gets: comments and white space removed (the sources stay readable)."""
    if name.endswith(".css"):
        return str(rcssmin.cssmin(source)).encode()
    return str(rjsmin.jsmin(source, keep_bang_comments=False)).encode()


class WidgetFiles:
    """The browser widget files, read once from the installed package, minified and
    gzipped ahead of time."""

    MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, bytes, str, str]] = {}
        for entry in files("buybutton_widgets").iterdir():
            suffix = "." + entry.name.rsplit(".", 1)[-1]
            if entry.is_file() and suffix in self.MEDIA_TYPES:
                body = minify(entry.name, entry.read_text(encoding="utf-8"))
                packed = gzip.compress(body, compresslevel=9, mtime=0)
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                self.files[entry.name] = (body, packed, self.MEDIA_TYPES[suffix], etag)

    async def serve(self, request: Request) -> Response:
        found = self.files.get(request.path_params["name"])
        if found is None:
            raise NotFound()
        body, packed, media_type, etag = found
        headers = {
            **CORS,
            "ETag": etag,
            "Cache-Control": "public, max-age=300",
            "Vary": "Accept-Encoding",
        }
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(packed, media_type=media_type, headers=headers)
        return Response(body, media_type=media_type, headers=headers)


async def events(request: Request) -> Response:
    """``POST /api/public/events``: the widget's batched impression beacons (sendBeacon,
    ``text/plain`` JSON ``{"impressions": [checkout URL, ...]}``)."""
    state = request.app.state
    ip = request.client.host if request.client else "unknown"
    await run_in_threadpool(impressions.limit_beacons, state.sessions, ip)
    body = await request.body()
    try:
        impressions.record_beacon(
            state.link_signer, state.analytics, body, request.headers, request.client
        )
    except RecursionError:  # "[[[[…": nested deeper than the JSON decoder goes
        raise impressions.BadBeacon("The beacon is not JSON.") from None
    return Response(status_code=204, headers=CORS)
