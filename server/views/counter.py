"""``/store``: the counter page for store staff (issue 15, item 6), phone first.

Signed in with the admin login (its session cookie and CSRF tokens, views/admin_kit.py).
The login's stores are its scope (services/counter.py): another store's order or page is
"not found" and nothing changes. Links and forms only; the shopper's QR code is an address
(``/store/collect?order=…&code=…``) that any phone camera opens.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from buybutton_server.domain.admin_auth import Admin
from buybutton_server.domain.returns import REASONS
from buybutton_server.errors import Conflict, Gone, InvalidInput, NotFound, RateLimited, ShopError
from buybutton_server.services import counter
from buybutton_server.views.admin_kit import NO_STORE, admin_page, done, posted_form, render

NOTICES = {
    "ready": "Marked ready. The shopper was emailed the pickup code.",
    "new_code": "A new code was emailed to the shopper; the old one no longer works.",
    "collected": "Collected. The order is handed over.",
    "paid": "Payment taken. The reservation is paid.",
    "paid_before": "That reservation was paid in store already.",
}
_STATUS = {NotFound: 404, Gone: 410, Conflict: 409, InvalidInput: 422, RateLimited: 429}


def _status(error: ShopError) -> int:
    return next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 400)


def _problem(request: Request, user: Admin, error: ShopError, back: str | None) -> Response:
    context = {"title": error.title, "message": error.message, "back": back}
    response = render(request, user, "counter_message.html", context, status=_status(error))
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _store_path(code: str) -> str:
    return "/store/" + quote(code, safe="")


@admin_page(counter=True)
async def stores(request: Request, user: Admin) -> Response:
    found = await run_in_threadpool(counter.stores, request.app.state.sessions, user)
    if len(found) == 1:
        return RedirectResponse(_store_path(found[0].code), 303, NO_STORE)
    return render(request, user, "counter_stores.html", {"stores": found})


async def _store(
    request: Request, user: Admin, code: str, *, problem: str | None = None, status: int = 200
) -> Response:
    try:
        page = await run_in_threadpool(counter.store_page, request.app.state.sessions, user, code)
    except NotFound as error:
        return _problem(request, user, error, "/store")
    notice = None if problem else NOTICES.get(request.query_params.get("notice", ""))
    context: dict[str, Any] = {"page": page, "notice": notice, "problem": problem}
    return render(request, user, "counter_store.html", context, status=status)


@admin_page(counter=True)
async def store(request: Request, user: Admin) -> Response:
    return await _store(request, user, request.path_params["code"])


@admin_page(counter=True)
async def find_order(request: Request, user: Admin) -> Response:
    """``GET /store/{code}/order?number=``: one order of this store, with its actions."""
    code = request.path_params["code"]
    number = request.query_params.get("number", "")
    try:
        shop, row = await run_in_threadpool(
            counter.order_row, request.app.state.sessions, user, code, number
        )
    except ShopError as error:
        return _problem(request, user, error, _store_path(code))
    context = {"store": shop, "row": row, "typed": request.query_params.get("code", "")}
    return render(request, user, "counter_order.html", context)


@admin_page(counter=True)
async def scanned(request: Request, user: Admin) -> Response:
    """``GET /store/collect?order=&code=``: what the shopper's QR code opens."""
    number = request.query_params.get("order", "")
    try:
        shop = await run_in_threadpool(counter.scanned, request.app.state.sessions, user, number)
        shop, row = await run_in_threadpool(
            counter.order_row, request.app.state.sessions, user, shop.code, number
        )
    except ShopError as error:
        return _problem(request, user, error, "/store")
    context = {"store": shop, "row": row, "typed": request.query_params.get("code", "")[:32]}
    return render(request, user, "counter_order.html", context)


@admin_page(counter=True)
async def act(request: Request, user: Admin) -> Response:
    """``POST /store/{code}/orders/{number}`` with ``action``: ready, new_code, collect
    (+ ``code``), paid."""
    form = await posted_form(request, max_fields=6)
    code, number = request.path_params["code"], request.path_params["number"]
    action = str(form.get("action", ""))
    sessions, keys = request.app.state.sessions, request.app.state.settings.secret_keys
    notice = action
    try:
        if action in ("ready", "new_code"):
            await run_in_threadpool(
                partial(counter.mark_ready, secret_keys=keys, new_code=action == "new_code"),
                sessions,
                user,
                code,
                number,
            )
        elif action == "collect":
            typed = str(form.get("code", ""))
            await run_in_threadpool(
                partial(counter.collect, secret_keys=keys), sessions, user, code, number, typed
            )
            notice = "collected"
        elif action == "paid":
            made = await run_in_threadpool(counter.paid_in_store, sessions, user, code, number)
            notice = "paid" if made else "paid_before"
        else:
            raise InvalidInput("Choose what to do with the order.")
    except (InvalidInput, Conflict, RateLimited) as error:
        response = await _store(request, user, code, problem=error.message, status=_status(error))
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    except ShopError as error:
        return _problem(request, user, error, _store_path(code))
    return done(_store_path(code), notice)


# -- returns at the counter -------------------------------------------------------------------


@admin_page(counter=True)
async def return_page(request: Request, user: Admin) -> Response:
    """``GET /store/{code}/returns`` (``?number=``): find the order, then pick what comes back."""
    code, number = request.path_params["code"], request.query_params.get("number", "").strip()
    state = request.app.state
    context: dict[str, Any] = {"code": code, "number": number, "form": None, "reasons": REASONS}
    returned = request.query_params.get("returned", "")
    if returned.isdecimal() and len(returned) <= 9:
        context["done"] = await run_in_threadpool(
            counter.return_done, state.sessions, user, code, int(returned)
        )
    if number:
        try:
            context["form"] = await run_in_threadpool(
                partial(counter.return_form, window_days=state.settings.return_window_days),
                state.sessions,
                user,
                code,
                number,
            )
        except (NotFound, Conflict) as error:
            context["problem"] = error.message
            status = _status(error)
            return render(request, user, "counter_return.html", context, status=status)
    return render(request, user, "counter_return.html", context)


@admin_page(counter=True)
async def take_return(request: Request, user: Admin) -> Response:
    form = await posted_form(request, max_fields=120)
    code, state = request.path_params["code"], request.app.state
    values = {name: str(value) for name, value in form.items() if name != "csrf"}
    try:
        taken = await run_in_threadpool(
            partial(counter.take_return, window_days=state.settings.return_window_days),
            state.sessions,
            state.payments,
            user,
            code,
            values,
        )
    except ShopError as error:
        context: dict[str, Any] = {
            "code": code,
            "number": values.get("number", ""),
            "reasons": REASONS,
            "problem": error.message,
            "form": None,
            "done": None,
        }
        try:
            context["form"] = await run_in_threadpool(
                partial(counter.return_form, window_days=state.settings.return_window_days),
                state.sessions,
                user,
                code,
                values.get("number", ""),
            )
        except ShopError:
            pass
        return render(request, user, "counter_return.html", context, status=_status(error))
    return RedirectResponse(
        f"{_store_path(code)}/returns?returned={taken.return_id}", 303, NO_STORE
    )


ROUTES: list[BaseRoute] = [
    Route("/store", stores, methods=["GET"]),
    Route("/store/collect", scanned, methods=["GET"]),
    Route("/store/{code}", store, methods=["GET"]),
    Route("/store/{code}/order", find_order, methods=["GET"]),
    Route("/store/{code}/orders/{number}", act, methods=["POST"]),
    Route("/store/{code}/returns", return_page, methods=["GET"]),
    Route("/store/{code}/returns", take_return, methods=["POST"]),
]
