"""The admin's orders pages (issue 12): find orders, read one, refund, fulfil, resend.

``/admin/orders`` is a GET search form and a page of 50 orders, newest first;
``/admin/orders/{number}`` is one order with its actions, each a CSRF-checked POST that
answers 303 back to the order with a notice, or the page again with the problem (422) and
nothing written. Routes are listed in ``ROUTES``; app.py mounts them.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from buybutton_server.domain.admin_auth import Admin
from buybutton_server.domain.vocabulary import ORDER_STATUSES
from buybutton_server.errors import InvalidInput, NotFound, ShopError
from buybutton_server.services import mail, order_admin
from buybutton_server.views.admin_kit import admin_page, done, posted_form, render

# Notices after an action, by the short key in ``?notice=``: nothing from the URL is shown.
NOTICES = {
    "refunded": "The refund went through.",
    "fulfilled": "The order is marked fulfilled.",
    "tracking": "The tracking is saved.",
    "receipt": "The receipt is on its way to the customer again.",
}


def _path(number: str) -> str:
    return "/admin/orders/" + quote(number, safe="")


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


@admin_page()
async def order_list(request: Request, user: Admin) -> Response:
    """``/admin/orders``: the search form and a page of matching orders."""
    params = request.query_params
    context: dict[str, Any] = {"statuses": ORDER_STATUSES, "page_size": order_admin.PAGE_SIZE}
    try:
        wanted = order_admin.read_search(params)
    except InvalidInput as problem:
        limit = order_admin.SEARCH_MAX
        kept = order_admin.OrderSearch(
            number=params.get("number", "")[:limit],
            email=params.get("email", "")[:limit],
            source=params.get("source", "")[:limit],
        )
        context.update(
            search=kept,
            page=order_admin.OrderPage(rows=(), older=None),
            problem=problem.message,
            filtered=True,
        )
        return render(request, user, "admin_orders.html", context, status=422)
    page = await run_in_threadpool(order_admin.search, request.app.state.sessions, wanted)
    older_link = (
        "/admin/orders?" + urlencode(wanted.query(before=page.older)) if page.older else None
    )
    context.update(
        search=wanted,
        page=page,
        older_link=older_link,
        filtered=bool(wanted.query()),
        newest_link=("/admin/orders?" + urlencode(wanted.query())) if wanted.before else None,
    )
    return render(request, user, "admin_orders.html", context)


async def _detail_page(
    request: Request,
    user: Admin,
    number: str,
    *,
    status: int = 200,
    problem: str | None = None,
    failed: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    """The order's page; after a refused action, with its ``problem`` and the form (named
    ``failed``) filled in as it was sent."""
    sessions = request.app.state.sessions
    try:
        order = await run_in_threadpool(order_admin.order_detail, sessions, number)
    except NotFound:
        return render(
            request,
            user,
            "admin_message.html",
            {"title": "No such order", "message": f"There is no order {number}."},
            status=404,
        )
    refund_form = {
        "amount": order.refundable,
        "reason": "requested_by_customer",
        "restock": "1",
        "once": order_admin.new_form_token(),
    }
    fulfil_form = {
        "carrier": order.carrier_choice,
        "other_carrier": (order.carrier or "") if order.carrier_choice == "other" else "",
        "tracking_number": order.tracking_number or "",
        "tracking_url": order.tracking_url or "",
    }
    if failed == "refund" and form is not None:
        refund_form = form
    if failed == "fulfil" and form is not None:
        fulfil_form = form
    context = {
        "order": order,
        "refund_form": refund_form,
        "fulfil_form": fulfil_form,
        "reasons": order_admin.REFUND_REASONS,
        "carriers": order_admin.CARRIER_CHOICES,
        "failed": failed,
        "problem": problem,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        "action": _path(order.number),
    }
    return render(request, user, "admin_order.html", context, status=status)


@admin_page()
async def order_page(request: Request, user: Admin) -> Response:
    """``/admin/orders/{number}``: everything about one order, and what can be done."""
    return await _detail_page(request, user, request.path_params["number"])


@admin_page()
async def refund(request: Request, user: Admin) -> Response:
    form = await posted_form(request)
    number = request.path_params["number"]
    sent = {
        "amount": _text(form, "amount"),
        "reason": _text(form, "reason"),
        "restock": "1" if form.get("restock") else "",
        "once": _text(form, "once"),
    }
    state = request.app.state
    action = partial(
        order_admin.refund_from_form,
        amount=sent["amount"],
        reason=sent["reason"],
        restock=bool(sent["restock"]),
        once=sent["once"],
    )
    try:
        await run_in_threadpool(action, state.sessions, state.payments, number)
    except NotFound:
        return await _detail_page(request, user, number)
    except ShopError as problem:
        return await _detail_page(
            request, user, number, status=422, problem=problem.message, failed="refund", form=sent
        )
    return done(_path(number), "refunded")


@admin_page()
async def fulfil(request: Request, user: Admin) -> Response:
    form = await posted_form(request)
    number = request.path_params["number"]
    sent = {
        name: _text(form, name)
        for name in ("carrier", "other_carrier", "tracking_number", "tracking_url")
    }
    action = partial(
        order_admin.fulfil_from_form,
        carrier=sent["carrier"],
        other_carrier=sent["other_carrier"],
        tracking_number=sent["tracking_number"],
        tracking_url=sent["tracking_url"],
    )
    try:
        await run_in_threadpool(action, request.app.state.sessions, number)
    except NotFound:
        return await _detail_page(request, user, number)
    except ShopError as problem:
        return await _detail_page(
            request, user, number, status=422, problem=problem.message, failed="fulfil", form=sent
        )
    return done(_path(number), "fulfilled" if not form.get("update") else "tracking")


@admin_page()
async def resend_receipt(request: Request, user: Admin) -> Response:
    await posted_form(request)
    number = request.path_params["number"]
    try:
        await run_in_threadpool(mail.resend_receipt, request.app.state.sessions, number)
    except NotFound:
        return await _detail_page(request, user, number)
    except ShopError as problem:
        return await _detail_page(request, user, number, status=422, problem=problem.message)
    return done(_path(number), "receipt")


ROUTES: list[BaseRoute] = [
    Route("/admin/orders", order_list, methods=["GET"]),
    Route("/admin/orders/{number}", order_page, methods=["GET"]),
    Route("/admin/orders/{number}/refund", refund, methods=["POST"]),
    Route("/admin/orders/{number}/fulfil", fulfil, methods=["POST"]),
    Route("/admin/orders/{number}/receipt", resend_receipt, methods=["POST"]),
]
