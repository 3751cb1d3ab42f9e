"""Cart permalinks: ``GET /buy/{items}`` (UCP ``dev.ucp.shopping.permalink``, draft).

``{items}`` is ``sku:qty`` pairs joined by commas (``/buy/MUG-01:2,TEE-M:1``); an id with
other characters than ``A-Z a-z 0-9 . _ -`` is ``~`` + unpadded base64url of its UTF-8.
Query names are JSON Pointer paths without the leading ``/``: ``buyer/email``,
``buyer/first_name``, ``buyer/last_name``, ``discounts/codes/0``, ``attribution/utm_source``
(``utm_campaign``, ``utm_content``); other UCP paths are consumed and dropped, and nothing in
the URL sets a price, a currency or a total. ``continue_to`` (a path on this site, or a URL
on one of the merchant's allowed origins) becomes the checkout's way back.

The answer is ``303 See Other`` to a freshly signed checkout link, with ``Cache-Control:
no-store`` and ``Referrer-Policy: no-referrer``. Opening a permalink places no order and
reserves nothing. A malformed permalink gets a page naming what is wrong: 400 (bad form,
ambiguous query), 404 (unknown product), 422 (too many lines, a quantity over the maximum).
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from buybutton.tokens import _LABEL, DISCOUNT_CODE_PATTERN, EMAIL_PATTERN, MAX_CODES
from buybutton.urls import BUY_PREFIX, absolute, checkout_path, parse_cart
from buybutton_server.errors import BadRequest, ShopError
from buybutton_server.services.permalinks import CartRequest, cart_token
from buybutton_server.settings import origin_of
from buybutton_server.views.errors import render_error
from buybutton_server.views.origins import allowed_origins, load_origins

HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
# Top-level fields of a UCP cart or checkout: a query name starting with one of these is a
# UCP path (used, or consumed and dropped); any other name is the publisher's own.
UCP_FIELDS = frozenset(
    {
        "id", "line_items", "buyer", "context", "discounts", "attribution", "fulfillment",
        "payment", "currency", "totals", "status", "messages", "links", "order", "ucp",
        "expires_at", "continue_url", "signals", "platform",
    }
)  # fmt: skip
_ATTRIBUTION = {"utm_source": "source", "utm_campaign": "campaign", "utm_content": "content"}


def _refuse(request: Request, message: str) -> Response:
    response = render_error(request, BadRequest(message))
    response.headers.update(HEADERS)
    return response


async def buy(request: Request) -> Response:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    text = raw_path.decode("latin-1").split("?", 1)[0].removeprefix(BUY_PREFIX)
    if "%" in text:
        return _refuse(request, "This cart link is not valid: it must not be percent-encoded.")
    if not text:  # ``/buy/`` with no items: nothing to check out
        return RedirectResponse("/", status_code=303, headers=HEADERS)
    try:
        lines = parse_cart(text)
    except ValueError as problem:
        return _refuse(request, f"This cart link is not valid: {problem}.")
    try:
        cart, back = await _read_query(request, lines)
    except ValueError as problem:
        return _refuse(request, f"This cart link is not valid: {problem}.")
    state = request.app.state
    try:
        token = await run_in_threadpool(cart_token, state.sessions, state.link_signer, cart)
    except ShopError as error:  # an unknown product, a quantity over the maximum, ...
        response = render_error(request, error)
        response.headers.update(HEADERS)
        return response
    location = checkout_path(token) + (f"?{urlencode({'return': back})}" if back else "")
    return RedirectResponse(location, status_code=303, headers=HEADERS)


async def _read_query(
    request: Request, lines: list[tuple[str, int]]
) -> tuple[CartRequest, str | None]:
    """The cart request and the way back (``continue_to``) from the query. Raises
    ValueError for an ambiguous query: two names for one pointer, or ``continue_to`` twice."""
    values: dict[str, str] = {}
    back_raw: list[str] = []
    for name, value in request.query_params.multi_items():
        if name == "continue_to":
            back_raw.append(value)
            continue
        pointer = "/" + name.lstrip("/")
        if pointer in values:
            raise ValueError(f"the query gives {pointer.lstrip('/')} twice")
        values[pointer] = value
    if len(back_raw) > 1:
        raise ValueError("the query gives continue_to twice")
    codes: list[str] = []
    for n in range(MAX_CODES * 4):  # more than MAX_CODES: the rest are dropped
        code = values.get(f"/discounts/codes/{n}", "").strip()
        if DISCOUNT_CODE_PATTERN.match(code) and code.upper() not in {c.upper() for c in codes}:
            codes.append(code)
    email = values.get("/buyer/email", "").strip()
    name = " ".join(
        values.get(f"/buyer/{part}", "").strip() for part in ("first_name", "last_name")
    ).strip()
    attribution = {}
    for key, field in _ATTRIBUTION.items():
        value = values.get(f"/attribution/{key}") or values.get(f"/{key}") or ""
        if _LABEL.match(value):
            attribution[field] = value
    cart = CartRequest(
        lines=lines,
        email=email if EMAIL_PATTERN.match(email) else None,
        name=name if 0 < len(name) <= 200 and name.isprintable() else None,
        codes=tuple(codes[:MAX_CODES]),
        **attribution,
    )
    back = None
    if back_raw:
        await load_origins(request)
        back = continue_to(request, back_raw[0])
    return cart, back


def continue_to(request: Request, raw: str) -> str | None:
    """``continue_to`` as an absolute URL on this site (a path, resolved with dot segments
    removed) or on one of the merchant's allowed origins; None (the default destination)
    for anything else: another site, a scheme-relative ``//host``, a backslash, white space
    or control characters. The value is rebuilt from its parts, never echoed raw."""
    value = unquote(raw)  # decoded once, as the spec says
    if len(value) > 2048 or any(ch in value for ch in "\\\r\n\t ") or not value.isprintable():
        return None
    base = request.app.state.settings.base_url
    if value.startswith("/") and not value.startswith("//"):
        parts = urlsplit(value)
        if parts.scheme or parts.netloc:
            return None
        path = posixpath.normpath(parts.path) if parts.path not in ("", "/") else "/"
        path = "/" + path.lstrip("/")
        return absolute(base, urlunsplit(("", "", path, parts.query, "")))
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    if origin_of(value) not in allowed_origins(request):
        return None
    path = posixpath.normpath(parts.path) if parts.path not in ("", "/") else "/"
    return urlunsplit((parts.scheme, parts.netloc, "/" + path.lstrip("/"), parts.query, ""))


ROUTES: list[BaseRoute] = [
    Route("/buy/", buy, methods=["GET"]),
    Route("/buy/{items}", buy, methods=["GET"]),
]
