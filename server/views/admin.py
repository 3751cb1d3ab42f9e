"""The merchant's pages: login, logout, the snippet builder and the funnel dashboard.

The builder signs links with the shop's keys, so it sits behind a login. Every form post
carries a CSRF token bound to the session (and the security middleware refuses cross-site
posts before they get here).
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any, cast

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from buybutton import BuyButton
from buybutton_server.domain import analytics
from buybutton_server.domain.admin_auth import COOKIE, SESSION_LIFETIME, Admin
from buybutton_server.domain.embeds import SURFACES, SnippetOptions
from buybutton_server.services import admin_login
from buybutton_server.services import builder as snippet_builder
from buybutton_server.services import dashboard as funnel_dashboard
from buybutton_server.services.catalog_reads import shop_currency
from buybutton_server.views.admin_kit import (
    NO_STORE,
    admin_page,
    current_admin,
    render,
    session_token,
)

# Back to the admin page or the counter (/store, a scanned /store/collect?…) asked for.
_NEXT = re.compile(
    r"^/(?:admin/[A-Za-z0-9/_-]*|store(?:/[A-Za-z0-9/_-]*)?)(\?[A-Za-z0-9=&%._+-]*)?$"
)


def _sdk(request: Request) -> BuyButton:
    settings = request.app.state.settings
    return BuyButton(secret_keys=list(settings.secret_keys), base_url=settings.base_url)


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    context.setdefault("csp_nonce", request.state.csp_nonce)
    return cast(
        Response,
        request.app.state.templates.TemplateResponse(
            request, name, context, status_code=status, headers=NO_STORE
        ),
    )


def _safe_next(request: Request) -> str:
    wanted = request.query_params.get("next", "")
    return wanted if _NEXT.match(wanted) else "/admin/orders"


async def login_page(request: Request) -> Response:
    if await current_admin(request):
        return RedirectResponse("/admin/orders", 303)
    return _render(request, "admin_login.html", {"next": _safe_next(request), "error": None})


async def login(request: Request) -> Response:
    async with request.form(max_files=0, max_fields=5) as form:
        email, password = str(form.get("email", "")), str(form.get("password", ""))
    ip = request.client.host if request.client else "unknown"
    token = await run_in_threadpool(
        admin_login.log_in, request.app.state.sessions, ip, email, password
    )
    if token is None:
        context = {"next": _safe_next(request), "error": "That email and password do not match."}
        return _render(request, "admin_login.html", context, status=401)
    response = RedirectResponse(_safe_next(request), 303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return response


async def logout(request: Request) -> Response:
    token = session_token(request)
    async with request.form(max_files=0, max_fields=5) as form:
        given = str(form.get("csrf", ""))
    admin_login.check_csrf(request.app.state.settings.secret_keys, token, given)
    if token:
        await run_in_threadpool(admin_login.log_out, request.app.state.sessions, token)
    response = RedirectResponse("/admin/login", 303)
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True)
    return response


async def _build(request: Request, *, mint: bool = False) -> snippet_builder.BuilderPage:
    return await run_in_threadpool(
        partial(snippet_builder.build, mint=mint),
        request.app.state.sessions,
        _sdk(request),
        request.query_params,
    )


@admin_page()
async def builder(request: Request, user: Admin) -> Response:
    """``/admin/snippets``: pick a product and a surface, set options, see it, copy it.

    Works as a plain GET form; with the page's script, every change updates the code and
    the preview in place (``?format=json``). A GET writes nothing: a surface whose short
    link does not exist yet offers a button that POSTs here (:func:`create_short_link`)."""
    page = await _build(request)
    snippet, products = page.snippet, page.products
    preview_url = "/admin/preview?" + request.url.query if snippet else None
    if request.query_params.get("format") == "json":
        if snippet is None:
            return JSONResponse(
                {"error": {"code": "invalid_options", "message": page.problem}},
                status_code=422,
                headers=NO_STORE,
            )
        return JSONResponse(
            {
                "code": snippet.code,
                "text": snippet.text,
                "kind": snippet.kind,
                "preview": preview_url,
                "short_link_needed": snippet.needs_short_link,
            },
            headers=NO_STORE,
        )
    shown = page.options or SnippetOptions(sku=products[0][0]) if products else None
    look = page.surface == snippet_builder.LOOK
    return render(
        request,
        user,
        "admin_snippets.html",
        {
            "products": products,
            "surfaces": {**SURFACES, snippet_builder.LOOK: snippet_builder.LOOK_TITLE},
            "surface": page.options.surface if page.options and not look else page.surface,
            "look_rows": page.look_form_rows,
            "look_codes": page.codes,
            "options": shown,
            "snippet": snippet,
            "problem": page.problem,
            "preview": preview_url,
            "query": request.url.query,
        },
        status=200 if snippet or not request.query_params else 422,
    )


@admin_page()
async def create_short_link(request: Request, user: Admin) -> Response:
    """``POST /admin/snippets?<options>``: mint (or reuse) the short link the options' surface
    posts, then show the builder again (303), now with the code filled in."""
    async with request.form(max_files=0, max_fields=5) as form:
        given = str(form.get("csrf", ""))
    admin_login.check_csrf(request.app.state.settings.secret_keys, session_token(request), given)
    page = await _build(request, mint=True)
    if page.snippet is None:
        return await builder(request)
    return RedirectResponse("/admin/snippets?" + request.url.query, 303, NO_STORE)


@admin_page()
async def preview(request: Request, user: Admin) -> Response:
    """The snippet on an otherwise empty page, framed by the builder (same origin only).

    It shows the snippet as a publisher's page would, under its own policy: the admin's, plus
    exactly the snippet's inline ``style`` attributes (by hash: the email snippet is styled
    inline, as email needs) and video from the web (``media-src``) for the video surface."""
    page = await _build(request)
    request.state.frame_ancestors = ["'self'"]
    html = ""
    if page.snippet is not None and page.snippet.kind == "html":
        # Our pages allow scripts by nonce only; the widget script is ours, so give it one.
        html = page.snippet.code.replace(
            "<script async src=", f'<script nonce="{request.state.csp_nonce}" async src='
        )
    request.state.csp_sources = snippet_builder.preview_sources(
        html, allow_http=not request.app.state.settings.production
    )
    return _render(
        request,
        "admin_preview.html",
        {"html": html, "snippet": page.snippet, "problem": page.problem, "options": page.options},
    )


async def _report(request: Request) -> analytics.Report:
    state = request.app.state
    query = request.query_params
    return await run_in_threadpool(
        funnel_dashboard.funnel,
        state.sessions,
        state.analytics,
        query.get("since"),
        query.get("until"),
    )


@admin_page()
async def dashboard(request: Request, user: Admin) -> Response:
    """``/admin/dashboard``: the funnel per placement, with a date range and CSV export."""
    result = await _report(request)
    sessions = request.app.state.sessions
    return render(
        request,
        user,
        "admin_dashboard.html",
        {
            "report": result,
            "currency": await run_in_threadpool(shop_currency, sessions),
            "bars": funnel_dashboard.funnel_bars(result.totals),
            "not_counted": funnel_dashboard.not_counted(request.app.state.analytics),
            "window_minutes": funnel_dashboard.window_minutes(),
            "since": result.since.date().isoformat(),
            "until": result.until.date().isoformat(),
            "query": request.url.query,
        },
    )


@admin_page()
async def dashboard_csv(request: Request, user: Admin) -> Response:
    result = await _report(request)
    return Response(
        analytics.report_csv(result),
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": 'attachment; filename="funnel.csv"'},
    )
