"""Public, read-only endpoints that embeds call from any site: product JSON and widget files.

Both answer with ``Access-Control-Allow-Origin: *``: they expose nothing a product page would
not, and carry no credentials.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from importlib.resources import files

import rcssmin
import rjsmin
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from buybutton.errors import ExpiredLink, InvalidLink
from buybutton.money import format_amount
from buybutton.tokens import CheckoutLink, LinkSigner
from buybutton_server.db import run_read, write_session
from buybutton_server.domain import analytics, rate_limits
from buybutton_server.domain.catalog import ProductView, product_view, variants_of
from buybutton_server.errors import BadRequest, NotFound, ProductUnavailable, RateLimited
from buybutton_server.views.errors import error_json

CORS = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}
LOW_STOCK = 5
QUANTITY_CHOICES = 10


def _price(product: ProductView) -> dict[str, object]:
    return {
        "amount": product.price_amount,
        "currency": product.currency,
        "formatted": format_amount(product.price_amount, product.currency),
    }


def _product_json(request: Request, sku: str) -> dict[str, object] | None:
    sessions = request.app.state.sessions
    product = product_view(sessions, sku)
    if product is None or not product.active:
        return None
    image = product.image_url
    if image.startswith("/"):
        image = request.app.state.settings.base_url + image
    available = product.available
    variants = variants_of(sessions, product)
    return {
        "sku": product.sku,
        "title": product.title,
        "description": product.description,
        "image_url": image or None,
        "price": _price(product),
        "in_stock": available > 0,
        # Exact counts only when they help a shopper decide ("only 3 left").
        "low_stock": available if 0 < available <= LOW_STOCK else None,
        "max_quantity": min(available, QUANTITY_CHOICES),
        "variants": [
            {
                "sku": v.sku,
                "label": v.variant_label or v.title,
                "price": _price(v),
                "in_stock": v.available > 0,
            }
            for v in variants
        ],
        # The overlay checkout may be framed only by the merchant's registered sites.
        "overlay": request.headers.get("origin") in request.app.state.settings.allowed_origins,
    }


async def product(request: Request) -> Response:
    sku = request.path_params["sku"]
    data = await run_read(request.app.state.sessions, _product_json, request, sku)
    if data is None:
        response = error_json(ProductUnavailable("No product with that sku is for sale."))
        response.headers.update(CORS)
        return response
    return JSONResponse(
        data, headers={**CORS, "Cache-Control": "public, max-age=15", "Vary": "Origin"}
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


MAX_BEACON_BYTES = 16_384
MAX_IMPRESSIONS = 50


class BadBeacon(BadRequest):
    code = "bad_beacon"
    title = "Bad beacon"


def _link_of(signer: LinkSigner, href: object) -> CheckoutLink:
    if not isinstance(href, str) or "/c/" not in href:
        raise BadBeacon("Each impression is a checkout link.")
    token = href.split("/c/", 1)[1].split("?", 1)[0].split("#", 1)[0]
    try:
        return signer.verify(token)
    except ExpiredLink as expired:  # genuine, just old: still counts where it was seen
        return expired.link
    except InvalidLink:
        raise BadBeacon("An impression names a link that is not ours.") from None


def _limit_beacons(request: Request) -> None:
    ip = request.client.host if request.client else "unknown"
    with write_session(request.app.state.sessions) as session:
        verdict = rate_limits.hit(session, f"beacon-ip:{ip}", limit=120, per_seconds=60)
    if not verdict.allowed:
        raise RateLimited(verdict.retry_after)


async def events(request: Request) -> Response:
    """``POST /api/public/events``: the widget's batched impression beacons (sendBeacon,
    ``text/plain`` JSON ``{"impressions": [checkout URL, ...]}``). Every link must be one we
    signed, so placements cannot be forged; a bad batch is refused whole."""
    await run_in_threadpool(_limit_beacons, request)
    raw = await request.body()
    if len(raw) > MAX_BEACON_BYTES:
        raise BadBeacon("The beacon is too large.")
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadBeacon("The beacon is not JSON.") from None
    hrefs = body.get("impressions") if isinstance(body, dict) else None
    if not isinstance(hrefs, list) or not 1 <= len(hrefs) <= MAX_IMPRESSIONS:
        raise BadBeacon(f"impressions must list 1 to {MAX_IMPRESSIONS} checkout links.")
    signer = request.app.state.link_signer
    links = [_link_of(signer, href) for href in hrefs]
    request.app.state.analytics.add(analytics.event_row("impression", link) for link in links)
    return Response(status_code=204, headers=CORS)
