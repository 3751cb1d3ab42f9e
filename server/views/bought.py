"""Back after paying (issue 13, item 8): a checkout link remembers the order it sold.

A successful payment sets ``bb_bought`` on that link's path (``/c/{token}``) holding the
order's public id. A later GET of the link with the cookie, which is what the browser's Back
button does after paying, answers with "You bought this already" instead of a fresh
checkout; "Buy again" (``?again=1``) forgets the order and shows the checkout.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from buybutton.urls import order_path
from buybutton_server.domain.locales import template_context
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.services import order_pages
from buybutton_server.services.checkout import Outcome
from buybutton_server.views import languages
from buybutton_server.views.origins import shop_identity

BOUGHT_COOKIE = "bb_bought"
BOUGHT_SECONDS = 30 * 24 * 3600
_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{16,32}")
_PATH = re.compile(r"/c/[A-Za-z0-9._~-]+")  # a signed token: nothing a cookie line must escape
_NO_STORE = {"Cache-Control": "no-store"}


def _cookie(request: Request, value: str, max_age: int) -> tuple[bytes, bytes] | None:
    """The ``Set-Cookie`` line, with the flags of the checkout's other cookie: ``Lax``, and
    ``None; Secure; Partitioned`` over https in the overlay (a frame on another site)."""
    path = request.url.path
    if not _PATH.fullmatch(path):
        return None
    secure = request.app.state.settings.secure_cookies
    if secure and request.query_params.get("embed") == "1":
        flags = "SameSite=None; Secure; Partitioned"
    else:
        flags = "SameSite=Lax; Secure" if secure else "SameSite=Lax"
    line = f"{BOUGHT_COOKIE}={value}; Max-Age={max_age}; Path={path}; HttpOnly; {flags}"
    return b"set-cookie", line.encode("latin-1")


def remember_purchase(request: Request, response: Response, outcome: Outcome) -> None:
    """After a payment went through on this link (paid, or pending on 3-D Secure): remember
    its order on the link's path. The GET shows it only once it is paid."""
    if outcome.order is None or outcome.problem is not None:
        return
    public_id = outcome.order.public_id
    header = _cookie(request, public_id, BOUGHT_SECONDS)
    if header is not None and _PUBLIC_ID.fullmatch(public_id):
        response.raw_headers.append(header)


async def already_bought(request: Request, *, embedded: bool) -> Response | None:
    """The answer to a GET of a link this browser paid through, or None for the checkout.

    ``?again=1`` forgets the order and redirects to the link without it, so the history
    entry is the plain link: Back after buying again shows the newer order, not a checkout."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "again"]
    if "again" in request.query_params:
        target = request.url.path + (f"?{urlencode(query)}" if query else "")
        response = RedirectResponse(target, status_code=303, headers=_NO_STORE)
        header = _cookie(request, "", 0)
        if header is not None and BOUGHT_COOKIE in request.cookies:
            response.raw_headers.append(header)
        return response
    public_id = request.cookies.get(BOUGHT_COOKIE, "")
    if not _PUBLIC_ID.fullmatch(public_id):
        return None
    state = request.app.state
    order = await run_in_threadpool(order_pages.find_order, state.sessions, public_id)
    if order is None or order.status != OrderStatus.PAID:
        return None
    kept = {k: v for k, v in query if k in ("embed", "return")}
    context: dict[str, Any] = {
        "order": order,
        "order_url": order_path(public_id) + (f"?{urlencode(kept)}" if kept else ""),
        "again_url": "?" + urlencode([*query, ("again", "1")]),
        "embedded": embedded,
        "csp_nonce": request.state.csp_nonce,
        "shop_identity": shop_identity(request),
        **template_context(languages.choose(request)),
    }
    html = state.templates.get_template("already_bought.html").render(context)
    return HTMLResponse(html, headers={**_NO_STORE, "Referrer-Policy": "no-referrer"})
