"""Order links for shoppers: ``GET /o/{token}`` opens an order's page from a signed link in
an email; ``/orders/find`` mails a lost link again (docs/email.md, "Order links").

HTTP only: read the path and the form, call ``services.order_links``, answer with a redirect
or a page. ``/orders/find`` answers the same page, with the same status, whether or not an
order matches; only a form we did not show (400), a field that cannot be right (422) and a
rate limit (429, the same page with its message) answer differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from buybutton.urls import order_path
from buybutton_server.domain import order_links as links
from buybutton_server.errors import RateLimited
from buybutton_server.services import order_links
from buybutton_server.views.errors import headers_of, render_error
from buybutton_server.views.origins import load_origins, shop_identity

# A link's token must not travel on: not in a Referer, not in a cache.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
FIELDS = (
    ("email", "Email", "email", "email", "The address your confirmation went to."),
    ("number", "Order number", "text", "off", "Like BB-7K2Q9XRM, in your confirmation."),
)
FORM_EXPIRED = "This form was open too long or did not come from this page. Please send it again."


async def open_link(request: Request) -> Response:
    """A signed order link: 303 to the order's page; a token we did not sign is a 404."""
    state = request.app.state
    try:
        public_id = await run_in_threadpool(
            order_links.open_link,
            state.sessions,
            state.settings.secret_keys,
            request.path_params["token"],
        )
    except order_links.LinkNotOurs as error:
        await load_origins(request)
        response = render_error(request, error)
        response.headers.update(PRIVATE)
        return response
    return RedirectResponse(order_path(public_id), status_code=303, headers=PRIVATE)


def _page(
    request: Request,
    *,
    state: str = "form",
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    alert: str | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    settings = request.app.state.settings
    context: dict[str, Any] = {
        "state": state,
        "fields": FIELDS,
        "values": values or {},
        "errors": errors or {},
        "alert": alert,
        "form_token": links.form_token(settings.secret_keys),
        "csp_nonce": request.state.csp_nonce,
        "embedded": False,
        "shop_identity": shop_identity(request),
    }
    response: Response = request.app.state.templates.TemplateResponse(
        request,
        "order_find.html",
        context,
        status_code=status_code,
        headers={**PRIVATE, **(headers or {})},
    )
    return response


async def find_page(request: Request) -> Response:
    await load_origins(request)
    return _page(request)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def find(request: Request) -> Response:
    """Mail the order's link if the email and number match one; the same answer if not."""
    await load_origins(request)
    state = request.app.state
    async with request.form(max_files=0, max_fields=8) as form:
        values = {name: str(form.get(name, ""))[:300] for name in ("email", "number")}
        token = str(form.get("form", ""))
    if not links.form_token_ok(state.settings.secret_keys, token):
        return _page(request, values=values, alert=FORM_EXPIRED, status_code=400)
    problems = order_links.form_problems(values["email"], values["number"])
    if problems:
        alert = "Please check the fields marked below."
        return _page(request, values=values, errors=problems, alert=alert, status_code=422)
    try:
        await run_in_threadpool(
            order_links.request_link,
            state.sessions,
            email=values["email"],
            number=values["number"],
            client=_client(request),
        )
    except RateLimited as error:
        return _page(
            request,
            values=values,
            alert=error.message,
            status_code=429,
            headers=headers_of(error),
        )
    return _page(request, state="sent")


ROUTES: list[BaseRoute] = [
    Route("/o/{token}", open_link, methods=["GET"]),
    Route("/orders/find", find_page, methods=["GET"]),
    Route("/orders/find", find, methods=["POST"]),
]
