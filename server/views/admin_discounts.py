"""The admin's discounts page (issue 13): every code with its use, a form to create one, and
a button to disable or enable each. Staff may use it. Routes are listed in ``ROUTES``;
app.py mounts them.

A form with a mistake is shown again with what was typed and one message (422); nothing is
written. Amounts are typed in major units of the chosen currency, percentages as numbers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from buybutton.money import format_amount
from buybutton_server.domain.admin_auth import Admin
from buybutton_server.errors import Conflict, InvalidInput
from buybutton_server.services import discounts
from buybutton_server.services.discounts import DiscountCode, spec_from_text, takes_off
from buybutton_server.views.admin_kit import admin_page, done, posted_form, render

NOTICES = {
    "created": "The code is ready: shoppers can type it at checkout.",
    "disabled": "The code is disabled: checkouts no longer take it.",
    "enabled": "The code is enabled again.",
}
FIELDS = (
    "code",
    "title",
    "kind",
    "percent",
    "amount",
    "currency",
    "min_subtotal",
    "starts_at",
    "ends_at",
    "usage_limit",
    "per_customer_limit",
    "scope",
    "skus",
    "collection",
)
BLANK = {name: "" for name in FIELDS} | {"kind": "percent", "scope": "all"}


def conditions(code: DiscountCode) -> list[str]:
    """The code's conditions in words, for the list."""
    said: list[str] = []
    if code.min_subtotal is not None:
        least = format_amount(code.min_subtotal.amount, code.min_subtotal.currency)
        said.append(f"orders from {least}")
    if code.scope == "products":
        said.append("only " + ", ".join(code.skus))
    elif code.scope == "collection":
        said.append(f"only the collection {code.collection}")
    if code.starts_at:
        said.append(f"from {code.starts_at[:16].replace('T', ' ')} UTC")
    if code.ends_at:
        said.append(f"until {code.ends_at[:16].replace('T', ' ')} UTC")
    if code.per_customer_limit:
        said.append(f"{code.per_customer_limit} per customer")
    return said


def _page(request: Request, user: Admin, *, status: int = 200, **extra: Any) -> Response:
    codes = discounts.all_codes(request.app.state.sessions)
    context = {
        "codes": [(code, takes_off(code), conditions(code)) for code in codes],
        "form": BLANK,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        **extra,
    }
    return render(request, user, "admin_discounts.html", context, status=status)


@admin_page()
async def discounts_page(request: Request, user: Admin) -> Response:
    """``/admin/discounts``."""
    return await run_in_threadpool(_page, request, user)


@admin_page()
async def create_code(request: Request, user: Admin) -> Response:
    form = await posted_form(request, max_fields=len(FIELDS) + 5)
    typed = {name: str(form.get(name, ""))[:2000] for name in FIELDS}
    skus = typed["skus"].replace(",", " ").split() if typed["scope"] == "products" else []
    try:
        spec = spec_from_text(typed, skus)
        await run_in_threadpool(discounts.create_from_spec, request.app.state.sessions, spec)
    except (InvalidInput, Conflict) as refused:
        problem = refused.message
        return await run_in_threadpool(
            lambda: _page(request, user, status=422, form=typed, problem=problem)
        )
    return done("/admin/discounts", "created")


def _switch(active: bool) -> Callable[[Request], Awaitable[Response]]:
    change = discounts.enable_code if active else discounts.disable_code

    @admin_page()
    async def switch(request: Request, user: Admin) -> Response:
        await posted_form(request, max_fields=5)
        code = request.path_params["code"]
        await run_in_threadpool(change, request.app.state.sessions, code)
        return done("/admin/discounts", "enabled" if active else "disabled")

    return switch


ROUTES: list[BaseRoute] = [
    Route("/admin/discounts", discounts_page, methods=["GET"]),
    Route("/admin/discounts", create_code, methods=["POST"]),
    Route("/admin/discounts/{code}/disable", _switch(False), methods=["POST"]),
    Route("/admin/discounts/{code}/enable", _switch(True), methods=["POST"]),
]
