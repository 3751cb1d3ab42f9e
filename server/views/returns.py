"""The shopper's side of returns: ``/orders/{public_id}/return``.

Reachable only through the order page's address (its unguessable public id is the
capability, as for the order page). The GET shows the lines that may still come back, the
reasons, and the returns asked for so far; the POST asks for one. Posts are refused
cross-site by the security middleware (Origin / Sec-Fetch-Site, as for the checkout), and
each rendered form carries a one-time key, so a form sent twice makes one return.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from buybutton_server.errors import Conflict, InvalidInput
from buybutton_server.services import returns
from buybutton_server.views.origins import load_origins, shop_identity

# "same-origin", not "no-referrer": the page posts a form, and under no-referrer a browser
# sends ``Origin: null``, which the cross-site check refuses (no shopper could ask for a
# return). Other origins still get no Referer, so the order's address stays private.
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}
_FIELD_MAX = 600


def _path(public_id: str) -> str:
    return f"/orders/{public_id}/return"


def _render(
    request: Request,
    page: returns.ShopperPage,
    *,
    status: int = 200,
    problem: str | None = None,
    sent: dict[str, str] | None = None,
) -> Response:
    context: dict[str, Any] = {
        "page": page,
        "reasons": returns.REASONS,
        "form": sent or {"reason": "", "note": ""},
        "key": returns.new_form_key(),
        "problem": problem,
        "requested": request.query_params.get("sent") == "1" and problem is None,
        "csp_nonce": request.state.csp_nonce,
        "shop_identity": shop_identity(request),
        "action": _path(page.public_id),
    }
    response: Response = request.app.state.templates.TemplateResponse(
        request, "order_return.html", context, status_code=status, headers=NO_STORE
    )
    return response


async def return_page(request: Request) -> Response:
    state = request.app.state
    await load_origins(request)
    page = await run_in_threadpool(
        returns.shopper_page,
        state.sessions,
        request.path_params["public_id"],
        state.settings.return_window_days,
    )
    return _render(request, page)


async def request_return(request: Request) -> Response:
    state = request.app.state
    public_id = request.path_params["public_id"]
    window = state.settings.return_window_days
    await load_origins(request)
    async with request.form(max_fields=120, max_files=0) as form:
        sent = {
            name: value[:_FIELD_MAX]
            for name, value in form.items()
            if isinstance(value, str) and (name.startswith("qty-") or name in _FIELDS)
        }
    try:
        await run_in_threadpool(returns.request_from_form, state.sessions, public_id, sent, window)
    except (InvalidInput, Conflict) as problem:
        page = await run_in_threadpool(returns.shopper_page, state.sessions, public_id, window)
        status = 422 if isinstance(problem, InvalidInput) else 409
        return _render(request, page, status=status, problem=problem.message, sent=sent)
    return RedirectResponse(_path(public_id) + "?sent=1", status_code=303, headers=NO_STORE)


_FIELDS = ("key", "reason", "note")

ROUTES: list[BaseRoute] = [
    Route("/orders/{public_id}/return", return_page, methods=["GET"]),
    Route("/orders/{public_id}/return", request_return, methods=["POST"]),
]
