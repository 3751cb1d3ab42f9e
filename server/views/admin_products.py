"""The admin's products pages (issue 12): the list, the create and edit forms, archiving,
stock on hand, variants and the price list. Routes are listed in ``ROUTES``; app.py mounts them.

A form is read into the API's own request types (``ProductCreate``, ``ProductUpdate``,
``StockChange``, ``ListPriceEntry``), so a product follows one set of rules wherever it is
written; each broken rule is shown next to its field, with what was typed kept (422).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial
from typing import Any, TypeVar

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from buybutton.money import CURRENCIES
from buybutton_server.domain.admin_auth import Admin
from buybutton_server.domain.catalog import STOCK_MAX, check_currency, check_price
from buybutton_server.domain.feeds_fields import FEED_COLUMNS
from buybutton_server.domain.product_search import Status
from buybutton_server.errors import Conflict, InvalidInput, NotFound
from buybutton_server.services import catalog, price_lists, stock
from buybutton_server.services.api_types import Input
from buybutton_server.services.catalog import Product, ProductCreate, ProductUpdate
from buybutton_server.services.catalog_reads import shop_currency
from buybutton_server.services.price_lists import ListPriceEntry
from buybutton_server.services.stock import StockChange
from buybutton_server.views.admin_kit import admin_page, done, posted_form, render
from buybutton_server.views.api import problems

M = TypeVar("M", bound=Input)

LIST_LIMIT = 200
STATUSES: dict[Status, str] = {"active": "Active", "archived": "Archived", "all": "All"}
NOTICES = {
    "created": "Product created.",
    "saved": "Changes saved.",
    "archived": "Archived: it is off sale, and its links say it is no longer available.",
    "unarchived": "Back on sale.",
    "stock": "Stock on hand saved.",
    "price-added": "Price added to the price list.",
    "price-changed": "Price changed.",
    "price-removed": "Price removed from the price list.",
}
CURRENCY_CHOICES = sorted(CURRENCIES)
_WHOLE = re.compile(r"-?[0-9]{1,12}")
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("notice", ""))


def _whole(text: str) -> int | str:
    """A whole number as an int; anything else as typed, for the type's own message."""
    text = text.strip()
    return int(text) if _WHOLE.fullmatch(text) else text


def _field_errors(model: type[Input], error: ValidationError, whole: str) -> dict[str, str]:
    """Each broken rule under its field's name; rules on the whole form under ``whole``."""
    found: dict[str, str] = {}
    for detail in error.errors():
        loc = detail["loc"]
        found.setdefault(str(loc[0]) if loc else whole, problems.message(model, [detail]))
    return found


def _parse(model: type[M], data: Mapping[str, Any], whole: str) -> M | dict[str, str]:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        return _field_errors(model, error, whole)


def _sku(request: Request) -> str:
    sku = str(request.path_params["sku"])
    if not _SKU.fullmatch(sku):
        raise NotFound(f"No product with sku {sku!r}.")
    return sku


# -- the product form -----------------------------------------------------------------------

_TEXT = (
    "title",
    "description",
    "price",
    "currency",
    "image_url",
    "variant_group",
    "variant_label",
    "max_per_order",
    "weight_grams",
    "tax_class",
    *FEED_COLUMNS,
)
TAX_CLASSES = {
    "standard": "Standard rate",
    "reduced": "Reduced rate (food, books where the country has one)",
    "zero": "Zero rate (no tax)",
    "digital": "Digital goods",
}


def _typed(form: FormData, *, create: bool) -> dict[str, Any]:
    """The form as typed (what the page shows again if it is refused)."""
    values: dict[str, Any] = {name: str(form.get(name, "")) for name in _TEXT}
    for name in ("price", "currency", "image_url", "variant_group", "variant_label", "tax_class"):
        values[name] = values[name].strip()
    for name in FEED_COLUMNS:
        values[name] = values[name].strip()
    values["currency"] = values["currency"].upper()
    values["requires_shipping"] = form.get("requires_shipping") == "on"
    if create:
        values["sku"] = str(form.get("sku", "")).strip()
        values["stock"] = str(form.get("stock", "0")).strip() or "0"
    return values


def _body(values: Mapping[str, Any]) -> dict[str, Any]:
    """The typed form as the API's request body."""
    body = {
        **values,
        "max_per_order": _whole(values["max_per_order"]),
        # Left blank (or not on the form): the product keeps its weight and tax class.
        "weight_grams": _whole(values["weight_grams"]) if values["weight_grams"].strip() else None,
        "tax_class": values["tax_class"] or None,
        "condition": values["condition"] or None,
    }
    if "stock" in body:
        body["stock"] = _whole(body["stock"])
    return body


def _checked(model: type[M], values: Mapping[str, Any]) -> M | dict[str, str]:
    parsed = _parse(model, _body(values), "price")
    if not values["price"]:
        errors = parsed if isinstance(parsed, dict) else {}
        return {**errors, "price": 'Enter a price, e.g. "12.50".'}
    if isinstance(parsed, dict) and "price" not in parsed and "currency" not in parsed:
        # Another field broke a rule, so the form's price rule did not run: run it too.
        try:
            check_price(values["price"], check_currency(values["currency"]))
        except InvalidInput as problem:
            parsed["price"] = problem.message
    return parsed


def _values_of(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "title": product.title,
        "description": product.description,
        "price": product.price.decimal,
        "currency": product.price.currency,
        "image_url": product.image_url or "",
        "requires_shipping": product.requires_shipping,
        "max_per_order": str(product.max_per_order),
        "weight_grams": str(product.weight_grams),
        "tax_class": product.tax_class,
        "variant_group": product.variant_group or "",
        "variant_label": product.variant_label or "",
        **{name: getattr(product, name) or "" for name in FEED_COLUMNS},
    }


def _new_page(
    request: Request,
    user: Admin,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "product": None,
        "values": values,
        "errors": errors or {},
        "currencies": CURRENCY_CHOICES,
        "tax_classes": TAX_CLASSES,
        "variant_of": request.query_params.get("variant_of") or None,
        "problem": "Please check the highlighted fields." if errors else None,
    }
    return render(request, user, "admin_product.html", context, status=status)


@admin_page()
async def new_product(request: Request, user: Admin) -> Response:
    """``/admin/products/new``: an empty form, or (``?variant_of=SKU``) one pre-filled from
    a product of a variant group, for another variant of it."""
    sessions = request.app.state.sessions
    original = request.query_params.get("variant_of")
    if original:
        product = await run_in_threadpool(catalog.get_product, sessions, original)
        values = {**_values_of(product), "sku": "", "variant_label": "", "stock": "0"}
    else:
        currency = await run_in_threadpool(shop_currency, sessions)
        values = {name: "" for name in _TEXT} | {
            "sku": "",
            "currency": currency,
            "max_per_order": "10",
            "weight_grams": "0",
            "tax_class": "standard",
            "stock": "0",
            "requires_shipping": True,
        }
    return _new_page(request, user, values)


@admin_page()
async def create_product(request: Request, user: Admin) -> Response:
    form = await posted_form(request)
    values = _typed(form, create=True)
    body = _checked(ProductCreate, values)
    if isinstance(body, dict):
        return _new_page(request, user, values, body, status=422)
    try:
        created = await run_in_threadpool(catalog.create_product, request.app.state.sessions, body)
    except Conflict as taken:
        return _new_page(request, user, values, {"sku": taken.message}, status=409)
    return done(f"/admin/products/{created.sku}", "created")


# -- the product page -----------------------------------------------------------------------


async def _product_page(
    request: Request, user: Admin, sku: str, status: int = 200, **shown: Any
) -> Response:
    sessions = request.app.state.sessions
    product = await run_in_threadpool(catalog.get_product, sessions, sku)
    siblings = await run_in_threadpool(catalog.variant_siblings, sessions, sku)
    context: dict[str, Any] = {
        "product": product,
        "siblings": siblings,
        "values": _values_of(product),
        "errors": {},
        "currencies": CURRENCY_CHOICES,
        "tax_classes": TAX_CLASSES,
        "list_currencies": [c for c in CURRENCY_CHOICES if c != product.price.currency],
        "price_values": {},
        "price_errors": {},
        "price_row": None,
        "stock_value": str(product.stock.on_hand),
        "stock_error": None,
        "notice": _notice(request),
        **shown,
    }
    if status >= 400 and not context.get("problem"):
        context["problem"] = "Nothing was changed: please check the highlighted field."
    return render(request, user, "admin_product.html", context, status=status)


@admin_page()
async def product_page(request: Request, user: Admin) -> Response:
    return await _product_page(request, user, _sku(request))


@admin_page()
async def update_product(request: Request, user: Admin) -> Response:
    sku = _sku(request)
    form = await posted_form(request)
    values = {**_typed(form, create=False), "sku": sku}
    body = _checked(ProductUpdate, {k: v for k, v in values.items() if k != "sku"})
    if isinstance(body, dict):
        return await _product_page(request, user, sku, 422, values=values, errors=body)
    try:
        await run_in_threadpool(catalog.update_product, request.app.state.sessions, sku, body)
    except InvalidInput as refused:
        errors = {"currency": refused.message}
        return await _product_page(request, user, sku, 422, values=values, errors=errors)
    return done(f"/admin/products/{sku}", "saved")


@admin_page()
async def archive_product(request: Request, user: Admin) -> Response:
    sku = _sku(request)
    await posted_form(request)
    await run_in_threadpool(catalog.archive_product, request.app.state.sessions, sku)
    return done(f"/admin/products/{sku}", "archived")


@admin_page()
async def unarchive_product(request: Request, user: Admin) -> Response:
    sku = _sku(request)
    await posted_form(request)
    change = ProductUpdate(active=True)
    await run_in_threadpool(catalog.update_product, request.app.state.sessions, sku, change)
    return done(f"/admin/products/{sku}", "unarchived")


@admin_page()
async def set_stock(request: Request, user: Admin) -> Response:
    """Stock on hand, set with one conditional UPDATE: only if it still is what the page
    showed (``was``), never below what checkouts hold."""
    sku = _sku(request)
    form = await posted_form(request)
    typed = str(form.get("on_hand", "")).strip()
    change = _parse(StockChange, {"on_hand": _whole(typed)}, "on_hand")
    if isinstance(change, dict):
        error = next(iter(change.values())).replace("on_hand", "Stock on hand", 1)
        return await _product_page(request, user, sku, 422, stock_value=typed, stock_error=error)
    # The number the page showed: a sale since then makes the save a 409, not a lost sale.
    shown = str(form.get("was", "")).strip()
    known = shown.isascii() and shown.isdigit() and len(shown) <= 10
    was = int(shown) if known and int(shown) <= STOCK_MAX else -1
    try:
        await run_in_threadpool(
            partial(stock.set_stock_if, was=was, on_hand=change.on_hand or 0),
            request.app.state.sessions,
            sku,
        )
    except Conflict as refused:
        return await _product_page(
            request, user, sku, 409, stock_value=typed, stock_error=refused.message
        )
    return done(f"/admin/products/{sku}", "stock")


# -- the price list -------------------------------------------------------------------------


@admin_page()
async def set_list_price(request: Request, user: Admin) -> Response:
    """Add a currency to the price list, or (``row`` names it) change its price."""
    sku = _sku(request)
    form = await posted_form(request)
    values = {
        "currency": str(form.get("currency", "")).strip().upper(),
        "price": str(form.get("price", "")).strip(),
    }
    row = values["currency"] if form.get("row") else None
    entry = _parse(ListPriceEntry, values, "price")
    if not isinstance(entry, dict):
        try:
            added = await run_in_threadpool(
                price_lists.set_list_price, request.app.state.sessions, sku, entry
            )
        except InvalidInput as refused:
            entry = {"currency": refused.message}
        else:
            return done(f"/admin/products/{sku}", "price-added" if added else "price-changed")
    shown = {"price_values": values, "price_errors": entry, "price_row": row}
    return await _product_page(request, user, sku, 422, **shown)


@admin_page()
async def remove_list_price(request: Request, user: Admin) -> Response:
    sku = _sku(request)
    form = await posted_form(request)
    currency = str(form.get("currency", ""))
    remove = partial(price_lists.remove_list_price, request.app.state.sessions, sku, currency)
    await run_in_threadpool(remove)
    return done(f"/admin/products/{sku}", "price-removed")


# -- the list -------------------------------------------------------------------------------


@admin_page()
async def product_list(request: Request, user: Admin) -> Response:
    """``/admin/products``: search by sku or title; active, archived or all."""
    text = request.query_params.get("q", "")[:100]
    wanted = request.query_params.get("status", "active")
    status: Status = next((s for s in STATUSES if s == wanted), "active")
    found = await run_in_threadpool(
        catalog.search_products, request.app.state.sessions, text, status, LIST_LIMIT + 1
    )
    context = {
        "products": found[:LIST_LIMIT],
        "more": len(found) > LIST_LIMIT,
        "limit": LIST_LIMIT,
        "q": text,
        "status": status,
        "statuses": STATUSES,
        "notice": _notice(request),
    }
    return render(request, user, "admin_products.html", context)


ROUTES: list[BaseRoute] = [
    Route("/admin/products", product_list, methods=["GET"]),
    Route("/admin/products/new", new_product, methods=["GET"]),
    Route("/admin/products/new", create_product, methods=["POST"]),
    Route("/admin/products/{sku}", product_page, methods=["GET"]),
    Route("/admin/products/{sku}", update_product, methods=["POST"]),
    Route("/admin/products/{sku}/archive", archive_product, methods=["POST"]),
    Route("/admin/products/{sku}/unarchive", unarchive_product, methods=["POST"]),
    Route("/admin/products/{sku}/stock", set_stock, methods=["POST"]),
    Route("/admin/products/{sku}/prices", set_list_price, methods=["POST"]),
    Route("/admin/products/{sku}/prices/remove", remove_list_price, methods=["POST"]),
]
