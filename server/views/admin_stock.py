"""The admin's stock sheet (issue 12): every product's stock on one form, and a CSV bulk
edit with a preview. Routes are listed in ``ROUTES``; app.py mounts them.

Every row of the sheet carries the ``on_hand`` it was shown with (``was.<sku>``); only rows
whose typed value differs are saved, each only if the stock is still what the page showed.
All rows are saved or none (:mod:`buybutton_server.domain.stock_sheet`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from buybutton_server.domain.admin_auth import Admin
from buybutton_server.domain.catalog import CatalogImportError
from buybutton_server.domain.catalog_import import decode
from buybutton_server.domain.stock_sheet import (
    CSV_ROWS_MAX,
    PAGE_SIZE,
    Refusal,
    StockRefused,
    edit_from_token,
    edits_from_sheet,
)
from buybutton_server.domain.vocabulary import LOW_STOCK
from buybutton_server.errors import InvalidInput, TooLarge
from buybutton_server.services import stock
from buybutton_server.views.admin_kit import admin_page, done, posted_form, render

NOTICES = {
    "saved": "Stock saved.",
    "unchanged": "Nothing to save: no number was changed.",
    "csv": "Stock updated from the CSV.",
}
_CSV_MAX_BYTES = 512 * 1024


def _filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    page = params.get("page", "1")
    return {
        "search": params.get("q", "")[:100],
        "low": params.get("low") == "1",
        "page": int(page) if page.isdecimal() and len(page) < 7 else 1,
    }


def _query(filters: dict[str, Any], page: int | None = None) -> str:
    params: dict[str, str] = {}
    if filters["search"]:
        params["q"] = filters["search"]
    if filters["low"]:
        params["low"] = "1"
    if (page or filters["page"]) > 1:
        params["page"] = str(page or filters["page"])
    return urlencode(params)


async def _sheet_page(
    request: Request, user: Admin, *, status: int = 200, **context: Any
) -> Response:
    filters = _filters(request)
    sheet = await run_in_threadpool(
        lambda: stock.stock_sheet(request.app.state.sessions, **filters)
    )
    query = _query(filters)
    context = {
        "sheet": sheet,
        "filters": filters,
        "query": query,
        "previous_query": _query(filters, sheet.page - 1) if sheet.page > 1 else None,
        "next_query": _query(filters, sheet.page + 1) if sheet.page < sheet.pages else None,
        "low_stock": LOW_STOCK,
        "page_size": PAGE_SIZE,
        "csv_rows_max": CSV_ROWS_MAX,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        "typed": {},
        "was": {},
        "errors": {},
        "refusals": [],
        "csv_text": "",
        **context,
    }
    return render(request, user, "admin_stock.html", context, status=status)


@admin_page()
async def sheet_page(request: Request, user: Admin) -> Response:
    """``/admin/stock``: every product's stock, searchable, a page of 200 at a time."""
    return await _sheet_page(request, user)


def _sheet_rows(form: FormData) -> list[tuple[str, str, str]]:
    return [
        (key[4:], str(value), str(form.get("on_hand." + key[4:], "")))
        for key, value in form.multi_items()
        if key.startswith("was.")
    ]


@admin_page()
async def save_sheet(request: Request, user: Admin) -> Response:
    form = await posted_form(request, max_fields=2 * PAGE_SIZE + 10)
    rows = _sheet_rows(form)
    edits = edits_from_sheet(rows)
    back = "/admin/stock" + (f"?{request.url.query}" if request.url.query else "")
    try:
        saved = await run_in_threadpool(stock.save_sheet, request.app.state.sessions, edits)
    except StockRefused as refused:
        changed = {edit.sku for edit in edits}
        now = {r.sku: r.now for r in refused.refusals if r.now is not None}
        return await _sheet_page(
            request,
            user,
            status=422,
            problem=refused.message,
            refusals=refused.refusals,
            errors={r.sku: r.message for r in refused.refusals},
            typed={sku: typed for sku, _, typed in rows if sku in changed},
            # A row that changed meanwhile now carries the new stock: saving again is a
            # decision made with the message in sight, not a blind overwrite.
            was={sku: now.get(sku, was) for sku, was, _ in rows if sku in changed},
        )
    return done(back, "saved" if saved else "unchanged")


async def _csv_text(form: FormData) -> str:
    upload = form.get("csv_file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(_CSV_MAX_BYTES + 1)
        if len(data) > _CSV_MAX_BYTES:
            raise TooLarge(f"The CSV is larger than {_CSV_MAX_BYTES // 1024} KB: split it.")
        return decode(data, upload.filename)
    pasted = str(form.get("csv_text", ""))
    if len(pasted.encode("utf-8", "replace")) > _CSV_MAX_BYTES:  # the same cap as a file
        raise TooLarge(f"The CSV is larger than {_CSV_MAX_BYTES // 1024} KB: split it.")
    return pasted


def _refusal_list(error: InvalidInput) -> list[Refusal]:
    if isinstance(error, StockRefused):
        return list(error.refusals)
    if isinstance(error, CatalogImportError):
        return [Refusal("file", problem) for problem in error.problems]
    return [Refusal("file", error.message)]


@admin_page()
async def preview_csv(request: Request, user: Admin) -> Response:
    """A ``sku,on_hand`` CSV (uploaded or pasted): what it would change, to confirm."""
    try:
        form = await posted_form(request, max_fields=5, max_files=1)
        try:
            text = await _csv_text(form)
        finally:
            await form.close()
    except TooLarge as problem:
        return await _sheet_page(request, user, status=413, problem=problem.message)
    except CatalogImportError as problem:  # not UTF-8
        return await _sheet_page(
            request, user, status=422, problem=problem.message, refusals=_refusal_list(problem)
        )
    try:
        plan = await run_in_threadpool(stock.plan_csv, request.app.state.sessions, text)
    except InvalidInput as problem:
        return await _sheet_page(
            request,
            user,
            status=422,
            problem="Nothing was changed: fix these lines of the CSV and preview it again.",
            refusals=_refusal_list(problem),
            csv_text=text,
        )
    return render(request, user, "admin_stock.html", {"plan": plan, "csv_text": text})


@admin_page()
async def apply_csv(request: Request, user: Admin) -> Response:
    form = await posted_form(request, max_fields=CSV_ROWS_MAX + 10)
    csv_text = str(form.get("csv_text", ""))
    try:
        edits = [edit_from_token(str(token)) for token in form.getlist("change")]
        saved = await run_in_threadpool(stock.save_sheet, request.app.state.sessions, edits)
    except InvalidInput as problem:
        return await _sheet_page(
            request,
            user,
            status=422,
            problem="Nothing was changed: "
            + (
                "the stock moved since the preview, or a line cannot be saved. Preview the "
                "CSV again to see the numbers now."
                if isinstance(problem, StockRefused)
                else problem.message
            ),
            refusals=_refusal_list(problem),
            csv_text=csv_text,
        )
    return done("/admin/stock", "csv" if saved else "unchanged")


ROUTES: list[BaseRoute] = [
    Route("/admin/stock", sheet_page, methods=["GET"]),
    Route("/admin/stock", save_sheet, methods=["POST"]),
    Route("/admin/stock/csv", preview_csv, methods=["POST"]),
    Route("/admin/stock/csv/apply", apply_csv, methods=["POST"]),
]
