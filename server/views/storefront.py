"""``GET /``: the shop's front page, a small index of the products for sale.

Never a 404: with nothing for sale yet it says so (and, to whoever runs the shop, how to
add products). Each entry links to the product's public page (``/p/{sku}``), which has the
Buy button; the index itself has no form and no state.
"""

from __future__ import annotations

from typing import cast

from starlette.requests import Request
from starlette.responses import Response

from buybutton_server.services.catalog_reads import storefront
from buybutton_server.services.database import run_read

# The answer carries a CSP nonce: only the visitor's own browser may keep it (as /p/{sku}).
PRIVATE_CACHE = {"Cache-Control": "private, max-age=60"}


async def index(request: Request) -> Response:
    state = request.app.state
    items = await run_read(state.sessions, storefront, state.sessions, state.settings.base_url)
    return cast(
        Response,
        state.templates.TemplateResponse(
            request,
            "storefront.html",
            {"items": items, "csp_nonce": request.state.csp_nonce},
            headers=PRIVATE_CACHE,
        ),
    )
