"""The admin's returns pages: ``/admin/returns`` (newest first, filtered by status) and
``/admin/returns/{id}`` with its actions (approve, mark received, refund with or without
restock, reject), each a CSRF-checked POST answering 303 back with a notice, or the page
again with the problem (409/422) and nothing written. Staff may handle returns."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from buybutton_server.domain.admin_auth import Admin
from buybutton_server.errors import Conflict, InvalidInput, NotFound, ShopError
from buybutton_server.services import returns
from buybutton_server.views.admin_kit import admin_page, done, path_id, posted_form, render

NOTICES = {
    "approved": "The return is approved.",
    "received": "The return is marked received.",
    "refunded": "The return is refunded.",
    "rejected": "The return is rejected.",
}


def _path(return_id: int) -> str:
    return f"/admin/returns/{return_id}"


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


@admin_page()
async def return_list(request: Request, user: Admin) -> Response:
    sessions = request.app.state.sessions
    raw = request.query_params.get("status", "")
    context: dict[str, Any] = {"statuses": returns.RETURN_STATUSES, "status": ""}
    try:
        status = returns.read_status(raw)
    except InvalidInput as problem:
        context.update(rows=[], problem=problem.message)
        return render(request, user, "admin_returns.html", context, status=422)
    rows = await run_in_threadpool(returns.admin_list, sessions, status)
    context.update(rows=rows, status=status)
    return render(request, user, "admin_returns.html", context)


async def _detail(
    request: Request,
    user: Admin,
    return_id: int,
    *,
    status: int = 200,
    problem: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    try:
        ret = await run_in_threadpool(returns.admin_detail, request.app.state.sessions, return_id)
    except NotFound:
        return render(
            request,
            user,
            "admin_message.html",
            {"title": "No such return", "message": f"There is no return {return_id}."},
            status=404,
        )
    context = {
        "ret": ret,
        "problem": problem,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        "form": form or {"amount": ret.suggested, "restock": "1", "note": ""},
        "action": _path(ret.id),
    }
    return render(request, user, "admin_return.html", context, status=status)


@admin_page()
async def return_page(request: Request, user: Admin) -> Response:
    return await _detail(request, user, path_id(request, "id", "return"))


@admin_page()
async def act(request: Request, user: Admin) -> Response:
    form = await posted_form(request)
    return_id = path_id(request, "id", "return")
    verb = request.path_params["verb"]
    state = request.app.state
    sent = {
        "amount": _text(form, "amount"),
        "restock": "1" if form.get("restock") else "",
        "note": _text(form, "note"),
    }
    actions = {
        "approve": (partial(returns.approve, state.sessions, return_id), "approved"),
        "receive": (partial(returns.receive, state.sessions, return_id), "received"),
        "reject": (partial(returns.reject, state.sessions, return_id, sent["note"]), "rejected"),
        "refund": (
            partial(
                returns.refund_from_text,
                state.sessions,
                state.payments,
                return_id,
                sent["amount"],
                restock=bool(sent["restock"]),
            ),
            "refunded",
        ),
    }
    if verb not in actions:
        raise NotFound()
    action, notice = actions[verb]
    try:
        await run_in_threadpool(action)
    except NotFound:
        return await _detail(request, user, return_id)
    except ShopError as problem:
        status = 409 if isinstance(problem, Conflict) else 422
        return await _detail(
            request, user, return_id, status=status, problem=problem.message, form=sent
        )
    return done(_path(return_id), notice)


ROUTES: list[BaseRoute] = [
    Route("/admin/returns", return_list, methods=["GET"]),
    Route("/admin/returns/{id:int}", return_page, methods=["GET"]),
    Route("/admin/returns/{id:int}/{verb}", act, methods=["POST"]),
]
