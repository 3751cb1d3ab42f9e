"""``POST /c/{token}/quote``: the link's cart priced for what the checkout form holds now
(address, codes, shipping option, quantity), as JSON for checkout.js and the wallet sheets.

A read: it writes nothing (no order, no reservation, no code use), so it needs no CSRF token
and no rate limit. Its body is a small form (at most :data:`MAX_FIELDS` fields, each cut at
:data:`MAX_VALUE` characters; the server's body limit stands behind it) with no payment
data. Every answer is ``no-store``; a request it cannot price gets
``{"error": {"code", "message"}}`` with a 4xx status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from buybutton.errors import ExpiredLink, InvalidLink
from buybutton.tokens import CheckoutLink
from buybutton_server.errors import LinkExpired, LinkNotValid, ShopError
from buybutton_server.services import checkout_quote
from buybutton_server.views import languages
from buybutton_server.views.errors import error_json

NO_STORE = {"Cache-Control": "no-store"}
MAX_FIELDS = 24
MAX_VALUE = 300


def verify(request: Request, token: str) -> CheckoutLink:
    try:
        link: CheckoutLink = request.app.state.link_signer.verify(token)
        return link
    except ExpiredLink as expired:
        raise LinkExpired(context={"expired_link": expired.link}) from None
    except InvalidLink:
        raise LinkNotValid() from None


def page_quote(
    request: Request, link: CheckoutLink, fields: Mapping[str, str], *, wallet: bool = False
) -> dict[str, Any] | None:
    """The quote a page shown again renders (blocking: call from the thread pool), or None
    when the cart cannot be priced as the form stands (the page then says why elsewhere)."""
    state = request.app.state
    contact = state.payments.wallet_contact(fields.get("country") or None) if wallet else None
    try:
        return checkout_quote.quote_form(state.sessions, link, fields, wallet=contact)
    except ShopError:
        return None


async def quote(request: Request) -> Response:
    try:
        link = verify(request, request.path_params["token"])
        lang = languages.choose(request, link.locale)  # the totals' money, as on the page
        async with request.form(max_files=0, max_fields=MAX_FIELDS) as form:
            fields = {
                name: str(form.get(name) or "")[:MAX_VALUE] for name in checkout_quote.QUOTE_FIELDS
            }
        if not fields["variant"]:
            fields["variant"] = request.query_params.get("variant", "")[:MAX_VALUE]
        state = request.app.state
        wallet = None
        if fields["method"] == "wallet":
            wallet = state.payments.wallet_contact(fields["country"] or None)
        data = await run_in_threadpool(
            checkout_quote.quote_form, state.sessions, link, fields, wallet=wallet
        )
    except ShopError as error:
        refused = error_json(error)
        refused.headers["Cache-Control"] = "no-store"
        return refused
    return languages.mark(request, JSONResponse(data, headers=NO_STORE), lang)
