"""The owner's shipping pages (issue 13): zones with their countries, regions and postal
prefixes, and each zone's rates (flat, free over an amount, by weight). Routes are listed in
``ROUTES``; app.py mounts them.

Forms are text as typed (see :mod:`buybutton_server.services.shipping`); a refused form is
shown again with what was typed and each problem next to its field (422), nothing written.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from buybutton_server.domain.admin_auth import Admin
from buybutton_server.errors import Conflict, InvalidInput, NotFound
from buybutton_server.services import shipping
from buybutton_server.services.catalog_reads import shop_currency
from buybutton_server.views.admin_kit import ID_MAX, admin_page, done, posted_form, render

T = TypeVar("T")
NOTICES = {
    "zone-created": "Zone created. Add a rate to it: without one, nothing ships there.",
    "zone-saved": "Zone saved.",
    "zone-deleted": "Zone deleted, with its rates.",
    "rate-added": "Rate added.",
    "rate-saved": "Rate saved.",
    "rate-deleted": "Rate deleted.",
}
ZONE_FIELDS = ("name", "countries", "regions", "postal", "position")
RATE_FIELDS = ("name", "kind", "currency", "amount", "free_over", "brackets", "delivery_estimate")
EMPTY_ZONE = {"name": "", "countries": "", "regions": "", "postal": "", "position": "0"}


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("notice", ""))


def _typed(form: FormData, names: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {name: str(form.get(name, "")) for name in names}
    if "kind" in names:
        values["active"] = "on" if form.get("active") == "on" else ""
        values["currency"] = values["currency"].strip().upper()
    return values


def _empty_rate(currency: str) -> dict[str, Any]:
    return {
        "name": "Standard",
        "kind": "flat",
        "currency": currency,
        "amount": "",
        "free_over": "",
        "brackets": "",
        "delivery_estimate": "",
        "active": "on",
    }


def _fields(problem: InvalidInput) -> dict[str, str]:
    fields = problem.context.get("fields")
    return dict(fields) if isinstance(fields, dict) else {}


def _common(request: Request) -> dict[str, Any]:
    return {"kinds": shipping.KIND_LABELS, "notice": _notice(request)}


async def _save_or_refuse(
    request: Request,
    user: Admin,
    save: Callable[[], T],
    *,
    values: dict[str, Any],
    template: str,
    context: Callable[..., dict[str, Any]],
    prefix: str = "",
) -> tuple[T | None, Response | None]:
    """Every form of these pages: ``(saved, None)``, or ``(None, the page again)`` with what
    was typed under ``{prefix}values`` and each problem next to its field under
    ``{prefix}errors`` (422), or the conflict as the page's problem (409)."""
    try:
        return await run_in_threadpool(save), None
    except (InvalidInput, Conflict) as problem:
        invalid = isinstance(problem, InvalidInput)
        shown = {
            f"{prefix}values": values,
            f"{prefix}errors": _fields(problem) if isinstance(problem, InvalidInput) else {},
            "problem": problem.message,
        }
        page = await run_in_threadpool(context, **shown)
        return None, render(request, user, template, page, status=422 if invalid else 409)


# -- the list and new zones -----------------------------------------------------------------


def _list_context(request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "zones": shipping.list_zones(request.app.state.sessions),
        "values": dict(EMPTY_ZONE),
        "errors": {},
        **_common(request),
        **extra,
    }


@admin_page(owner_only=True)
async def zones_page(request: Request, user: Admin) -> Response:
    context = await run_in_threadpool(_list_context, request)
    return render(request, user, "admin_shipping.html", context)


@admin_page(owner_only=True)
async def create_zone(request: Request, user: Admin) -> Response:
    form = await posted_form(request)
    values = _typed(form, ZONE_FIELDS)
    made, refused = await _save_or_refuse(
        request,
        user,
        partial(shipping.create_zone, request.app.state.sessions, values),
        values=values,
        template="admin_shipping.html",
        context=partial(_list_context, request),
    )
    return refused or done(f"/admin/shipping/zones/{made.id if made else ''}", "zone-created")


# -- one zone and its rates -----------------------------------------------------------------


def _zone_context(request: Request, zone_id: int, **extra: Any) -> dict[str, Any]:
    sessions = request.app.state.sessions
    zone = shipping.zone(sessions, zone_id)
    return {
        "zone": zone,
        "values": zone.form(),
        "errors": {},
        "rate_values": _empty_rate(shop_currency(sessions)),
        "rate_errors": {},
        **_common(request),
        **extra,
    }


def _id(request: Request, name: str) -> int:
    number = int(request.path_params[name])
    if number > ID_MAX:
        raise NotFound("There is nothing at this address.")
    return number


def _zone_id(request: Request) -> int:
    return _id(request, "zone_id")


@admin_page(owner_only=True)
async def zone_page(request: Request, user: Admin) -> Response:
    context = await run_in_threadpool(_zone_context, request, _zone_id(request))
    return render(request, user, "admin_shipping_zone.html", context)


@admin_page(owner_only=True)
async def update_zone(request: Request, user: Admin) -> Response:
    form = await posted_form(request)
    zone_id, values = _zone_id(request), _typed(form, ZONE_FIELDS)
    _, refused = await _save_or_refuse(
        request,
        user,
        partial(shipping.update_zone, request.app.state.sessions, zone_id, values),
        values=values,
        template="admin_shipping_zone.html",
        context=partial(_zone_context, request, zone_id),
    )
    return refused or done(f"/admin/shipping/zones/{zone_id}", "zone-saved")


@admin_page(owner_only=True)
async def confirm_delete_zone(request: Request, user: Admin) -> Response:
    context = await run_in_threadpool(_zone_context, request, _zone_id(request), deleting=True)
    return render(request, user, "admin_shipping_zone.html", context)


@admin_page(owner_only=True)
async def delete_zone(request: Request, user: Admin) -> Response:
    await posted_form(request, max_fields=5)
    await run_in_threadpool(shipping.delete_zone, request.app.state.sessions, _zone_id(request))
    return done("/admin/shipping", "zone-deleted")


@admin_page(owner_only=True)
async def create_rate(request: Request, user: Admin) -> Response:
    form = await posted_form(request)
    zone_id, values = _zone_id(request), _typed(form, RATE_FIELDS)
    _, refused = await _save_or_refuse(
        request,
        user,
        partial(shipping.create_rate, request.app.state.sessions, zone_id, values),
        values=values,
        template="admin_shipping_zone.html",
        context=partial(_zone_context, request, zone_id),
        prefix="rate_",
    )
    return refused or done(f"/admin/shipping/zones/{zone_id}", "rate-added")


# -- one rate -------------------------------------------------------------------------------


def _rate_context(request: Request, **extra: Any) -> dict[str, Any]:
    sessions = request.app.state.sessions
    rate = shipping.rate(sessions, _id(request, "rate_id"))
    return {
        "rate": rate,
        "zone": shipping.zone(sessions, rate.zone_id),
        "rate_values": rate.form(),
        "rate_errors": {},
        **_common(request),
        **extra,
    }


@admin_page(owner_only=True)
async def rate_page(request: Request, user: Admin) -> Response:
    context = await run_in_threadpool(_rate_context, request)
    return render(request, user, "admin_shipping_rate.html", context)


@admin_page(owner_only=True)
async def update_rate(request: Request, user: Admin) -> Response:
    form = await posted_form(request)
    rate_id, values = _id(request, "rate_id"), _typed(form, RATE_FIELDS)
    saved, refused = await _save_or_refuse(
        request,
        user,
        partial(shipping.update_rate, request.app.state.sessions, rate_id, values),
        values=values,
        template="admin_shipping_rate.html",
        context=partial(_rate_context, request),
        prefix="rate_",
    )
    return refused or done(f"/admin/shipping/zones/{saved.zone_id if saved else ''}", "rate-saved")


@admin_page(owner_only=True)
async def delete_rate(request: Request, user: Admin) -> Response:
    await posted_form(request, max_fields=5)
    rate_id = _id(request, "rate_id")
    zone_id = await run_in_threadpool(shipping.delete_rate, request.app.state.sessions, rate_id)
    return done(f"/admin/shipping/zones/{zone_id}", "rate-deleted")


_ZONE = "/admin/shipping/zones/{zone_id:int}"
_RATE = "/admin/shipping/rates/{rate_id:int}"

ROUTES: list[BaseRoute] = [
    Route("/admin/shipping", zones_page, methods=["GET"]),
    Route("/admin/shipping/zones", create_zone, methods=["POST"]),
    Route(_ZONE, zone_page, methods=["GET"]),
    Route(_ZONE, update_zone, methods=["POST"]),
    Route(_ZONE + "/delete", confirm_delete_zone, methods=["GET"]),
    Route(_ZONE + "/delete", delete_zone, methods=["POST"]),
    Route(_ZONE + "/rates", create_rate, methods=["POST"]),
    Route(_RATE, rate_page, methods=["GET"]),
    Route(_RATE, update_rate, methods=["POST"]),
    Route(_RATE + "/delete", delete_rate, methods=["POST"]),
]
