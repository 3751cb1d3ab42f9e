"""The merchant's pages: login, logout and the snippet builder.

The builder signs links with the shop's keys, so it sits behind a login. Every form post
carries a CSRF token bound to the session (and the security middleware refuses cross-site
posts before they get here).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from buybutton import BuyButton
from buybutton_server.db import write_session
from buybutton_server.db.models import AdminUser, Product
from buybutton_server.domain import admin_auth, analytics, rate_limits
from buybutton_server.domain.embeds import SURFACES, Snippet, SnippetOptions, make_snippet
from buybutton_server.errors import RateLimited, ShopError

NO_STORE = {"Cache-Control": "no-store"}
DEFAULT_COLOR = "#1f5eff"
_NEXT = re.compile(r"^/admin/[A-Za-z0-9/_-]*$")


def _sdk(request: Request) -> BuyButton:
    settings = request.app.state.settings
    return BuyButton(secret_keys=list(settings.secret_keys), base_url=settings.base_url)


def _cookie_token(request: Request) -> str | None:
    return request.cookies.get(admin_auth.COOKIE)


async def current_admin(request: Request) -> AdminUser | None:
    token = _cookie_token(request)
    if not token:
        return None
    return await run_in_threadpool(admin_auth.user_for, request.app.state.sessions, token)


def _login_redirect(request: Request) -> Response:
    return RedirectResponse("/admin/login?" + urlencode({"next": request.url.path}), 303)


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    context.setdefault("csp_nonce", request.state.csp_nonce)
    return request.app.state.templates.TemplateResponse(
        request, name, context, status_code=status, headers=NO_STORE
    )


async def login_page(request: Request) -> Response:
    if await current_admin(request):
        return RedirectResponse("/admin/snippets", 303)
    return _render(request, "admin_login.html", {"next": _safe_next(request), "error": None})


def _safe_next(request: Request) -> str:
    wanted = request.query_params.get("next", "")
    return wanted if _NEXT.match(wanted) else "/admin/snippets"


def _try_login(sessions: sessionmaker[Session], ip: str, email: str, password: str) -> str | None:
    with write_session(sessions) as session:
        verdict = rate_limits.hit(session, f"login-ip:{ip}", limit=10, per_seconds=300)
        if not verdict.allowed:
            raise RateLimited(verdict.retry_after)
    with write_session(sessions) as session:
        user = admin_auth.authenticate(session, email, password)
        return admin_auth.start_session(session, user) if user else None


async def login(request: Request) -> Response:
    async with request.form(max_files=0, max_fields=5) as form:
        email, password = str(form.get("email", "")), str(form.get("password", ""))
    ip = request.client.host if request.client else "unknown"
    token = await run_in_threadpool(_try_login, request.app.state.sessions, ip, email, password)
    if token is None:
        context = {"next": _safe_next(request), "error": "That email and password do not match."}
        return _render(request, "admin_login.html", context, status=401)
    response = RedirectResponse(_safe_next(request), 303)
    response.set_cookie(
        admin_auth.COOKIE,
        token,
        max_age=int(admin_auth.SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return response


def _check_csrf(request: Request, given: str) -> None:
    token = _cookie_token(request) or ""
    if not admin_auth.csrf_ok(request.app.state.settings.secret_keys[-1], token, given):
        raise ShopError("This form has expired. Reload the page and try again.")


async def logout(request: Request) -> Response:
    async with request.form(max_files=0, max_fields=5) as form:
        _check_csrf(request, str(form.get("csrf", "")))
    token = _cookie_token(request)
    if token:

        def forget() -> None:
            with write_session(request.app.state.sessions) as session:
                admin_auth.end_session(session, token)

        await run_in_threadpool(forget)
    response = RedirectResponse("/admin/login", 303)
    response.delete_cookie(admin_auth.COOKIE, path="/", secure=True, httponly=True)
    return response


def _products(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(Product.sku, Product.title)
            .where(Product.active.is_(True))
            .order_by(Product.title)
        ).all()
    return [(sku, title) for sku, title in rows]


def _options(request: Request, default_sku: str | None) -> SnippetOptions:
    q = request.query_params

    def number(name: str, default: float) -> float:
        try:
            return float(q.get(name, default))
        except ValueError:
            raise ValueError(f"{name} must be a number of seconds") from None

    return SnippetOptions(
        sku=q.get("sku") or default_sku or "",
        surface=q.get("surface", "button"),
        label=q.get("label") or "Buy now",
        source=q.get("source") or None,
        campaign=q.get("campaign") or None,
        content=q.get("content") or None,
        theme={"color": q["color"]} if q.get("color", DEFAULT_COLOR) != DEFAULT_COLOR else {},
        video_src=q.get("video_src", ""),
        at=number("at", 0),
        until=number("until", 15),
    )


def _build(request: Request) -> tuple[SnippetOptions | None, Snippet | None, str | None, list]:
    sessions = request.app.state.sessions
    products = _products(sessions)
    try:
        options = _options(request, products[0][0] if products else None)
        return options, make_snippet(sessions, _sdk(request), options), None, products
    except ValueError as problem:
        return None, None, str(problem), products
    except ShopError as problem:
        return None, None, problem.message, products


async def builder(request: Request) -> Response:
    """``/admin/snippets``: pick a product and a surface, set options, see it, copy it.

    Works as a plain GET form; with the page's script, every change updates the code and
    the preview in place (``?format=json``)."""
    user = await current_admin(request)
    if user is None:
        return _login_redirect(request)
    options, snippet, problem, products = await run_in_threadpool(_build, request)
    preview = "/admin/preview?" + request.url.query if snippet else None
    if request.query_params.get("format") == "json":
        if snippet is None:
            return JSONResponse(
                {"error": {"code": "invalid_options", "message": problem}},
                status_code=422,
                headers=NO_STORE,
            )
        return JSONResponse(
            {"code": snippet.code, "text": snippet.text, "kind": snippet.kind, "preview": preview},
            headers=NO_STORE,
        )
    token = _cookie_token(request) or ""
    return _render(
        request,
        "admin_snippets.html",
        {
            "user": user,
            "products": products,
            "surfaces": SURFACES,
            "options": options or SnippetOptions(sku=products[0][0]) if products else None,
            "snippet": snippet,
            "problem": problem,
            "preview": preview,
            "csrf": admin_auth.csrf_token(request.app.state.settings.secret_keys[-1], token),
        },
        status=200 if snippet or not request.query_params else 422,
    )


async def preview(request: Request) -> Response:
    """The snippet on an otherwise empty page, framed by the builder (same origin only)."""
    if await current_admin(request) is None:
        return _login_redirect(request)
    options, snippet, problem, _ = await run_in_threadpool(_build, request)
    request.state.frame_ancestors = ["'self'"]
    html = ""
    if snippet is not None and snippet.kind == "html":
        # Our pages allow scripts by nonce only; the widget script is ours, so give it one.
        html = snippet.code.replace(
            "<script async src=", f'<script nonce="{request.state.csp_nonce}" async src='
        )
    return _render(
        request,
        "admin_preview.html",
        {"html": html, "snippet": snippet, "problem": problem, "options": options},
    )


def _report(request: Request) -> analytics.Report:
    """Flush what is buffered, then report on the asked range."""
    state = request.app.state
    try:
        since, until = analytics.parse_range(
            request.query_params.get("since") or None, request.query_params.get("until") or None
        )
    except ValueError as problem:
        raise ShopError(str(problem)) from None
    state.analytics.flush(state.sessions)
    return analytics.report(state.sessions, since, until)


def funnel_chart(totals: analytics.FunnelRow) -> list[dict[str, Any]]:
    """Bars for a server-rendered SVG: no chart library, no script."""
    steps = [
        ("Impressions", totals.impressions),
        ("Clicks", totals.clicks),
        ("Checkouts", totals.checkouts),
        ("Paid", totals.paid),
    ]
    top = max((n for _, n in steps), default=0) or 1
    return [
        {"label": label, "count": n, "width": round(560 * n / top, 1), "y": 10 + i * 44}
        for i, (label, n) in enumerate(steps)
    ]


async def dashboard(request: Request) -> Response:
    """``/admin/dashboard``: the funnel per placement, with a date range and CSV export."""
    user = await current_admin(request)
    if user is None:
        return _login_redirect(request)
    result = await run_in_threadpool(_report, request)
    token = _cookie_token(request) or ""
    return _render(
        request,
        "admin_dashboard.html",
        {
            "user": user,
            "report": result,
            "bars": funnel_chart(result.totals),
            "since": result.since.date().isoformat(),
            "until": result.until.date().isoformat(),
            "query": request.url.query,
            "csrf": admin_auth.csrf_token(request.app.state.settings.secret_keys[-1], token),
        },
    )


async def dashboard_csv(request: Request) -> Response:
    if await current_admin(request) is None:
        return _login_redirect(request)
    result = await run_in_threadpool(_report, request)
    return Response(
        analytics.report_csv(result),
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": 'attachment; filename="funnel.csv"'},
    )
