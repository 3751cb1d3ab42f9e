"""What every admin page shares: who is signed in, roles, CSRF-checked forms, rendering.

A page handler is written as ``async def page(request, user) -> Response`` and wrapped with
:func:`admin_page`: without a live session the browser is sent to the sign-in page (and back
afterwards); a signed-in login without the page's role gets a 403 page. Every form post goes
through :func:`posted_form`, which refuses a missing or foreign CSRF token before the handler
reads anything else. Pages render through :func:`render`, which adds the signed-in login, the
CSRF token and the navigation, and never lets a browser or proxy cache them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, cast
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from buybutton_server.domain.admin_auth import COOKIE, OWNER, Admin
from buybutton_server.errors import NotFound
from buybutton_server.services import admin_login, staff

NO_STORE = {"Cache-Control": "no-store"}

AdminHandler = Callable[[Request, Admin], Awaitable[Response]]

# (path, label, owner only). The order is the order of the navigation bar.
NAVIGATION: tuple[tuple[str, str, bool], ...] = (
    ("/admin/orders", "Orders", False),
    ("/admin/returns", "Returns", False),
    ("/store", "Counter", False),  # the store staff's page (views/counter.py)
    ("/admin/products", "Products", False),
    ("/admin/stock", "Stock", False),
    ("/admin/discounts", "Discounts", False),
    ("/admin/shipping", "Shipping", True),
    ("/admin/dashboard", "Dashboard", False),
    ("/admin/snippets", "Snippets", False),
    ("/admin/mail", "Emails", False),
    ("/admin/keys", "API keys", True),
    ("/admin/webhooks", "Webhooks", True),
    ("/admin/payees", "Payees", True),
    ("/admin/staff", "Staff", True),
    ("/admin/settings", "Settings", True),
)


def session_token(request: Request) -> str | None:
    return request.cookies.get(COOKIE)


async def current_admin(request: Request) -> Admin | None:
    token = session_token(request)
    if not token:
        return None
    return await run_in_threadpool(admin_login.signed_in, request.app.state.sessions, token)


def csrf(request: Request) -> str:
    return admin_login.csrf_token(request.app.state.settings.secret_keys, session_token(request))


def login_redirect(request: Request) -> Response:
    wanted = request.url.path
    if request.method == "GET" and request.url.query:
        wanted += "?" + request.url.query
    return RedirectResponse("/admin/login?" + urlencode({"next": wanted}), 303)


def admin_page(
    *, owner_only: bool = False, counter: bool = False
) -> Callable[[AdminHandler], Callable[[Request], Awaitable[Response]]]:
    """Wrap a page handler: sign-in first, then the role, then the handler with the login.

    A staff login limited to some stores works at their counter only (``counter`` pages,
    which check the store themselves): every other admin page answers 403, so a clerk of
    one store never sees another store's orders through the admin."""

    def wrap(handler: AdminHandler) -> Callable[[Request], Awaitable[Response]]:
        @wraps(handler)
        async def page(request: Request) -> Response:
            user = await current_admin(request)
            if user is None:
                return login_redirect(request)
            if owner_only and user.role != OWNER:
                return render(
                    request,
                    user,
                    "admin_message.html",
                    {
                        "title": "Only the shop's owner can do this",
                        "message": "Ask an owner of this shop to do it, or to make your login "
                        "an owner's.",
                    },
                    status=403,
                )
            if not counter and user.role != OWNER:
                sessions = request.app.state.sessions
                if await run_in_threadpool(staff.counter_only, sessions, user.id):
                    return render(
                        request,
                        user,
                        "admin_message.html",
                        {
                            "title": "Your login works at the store counter",
                            "message": "It is limited to your stores: open the counter at "
                            "/store. An owner can widen it on the staff page.",
                        },
                        status=403,
                    )
            return await handler(request, user)

        return page

    return wrap


async def posted_form(request: Request, *, max_fields: int = 60, max_files: int = 0) -> FormData:
    """The posted form, once its CSRF token is the session's (else :class:`FormExpired`).

    The form's files (if ``max_files``) stay readable until the request ends."""
    form = await request.form(max_files=max_files, max_fields=max_fields)
    try:
        admin_login.check_csrf(
            request.app.state.settings.secret_keys,
            session_token(request),
            str(form.get("csrf", "")),
        )
    except Exception:
        await form.close()  # an uploaded file's temporary file, refused with its form
        raise
    return form


def render(
    request: Request, user: Admin | None, name: str, context: dict[str, Any], status: int = 200
) -> Response:
    """An admin page: ``context`` plus ``user``, ``csrf``, ``navigation`` and the CSP nonce."""
    context.setdefault("csp_nonce", request.state.csp_nonce)
    context.setdefault("user", user)
    context.setdefault("csrf", csrf(request))
    context.setdefault(
        "navigation",
        [
            (path, label, request.url.path.startswith(path))
            for path, label, owner_only in NAVIGATION
            if user is not None and (user.role == OWNER or not owner_only)
        ],
    )
    return cast(
        Response,
        request.app.state.templates.TemplateResponse(
            request, name, context, status_code=status, headers=NO_STORE
        ),
    )


def done(path: str, notice: str) -> Response:
    """After a successful post: back to ``path`` (303), which shows ``notice`` once."""
    separator = "&" if "?" in path else "?"
    return RedirectResponse(f"{path}{separator}{urlencode({'notice': notice})}", 303, NO_STORE)


# The largest id an ``INTEGER`` column holds (32 bits on PostgreSQL); a bigger number in a
# path names no row, and binding it would fail (SQLite: OverflowError past 64 bits).
ID_MAX = 2**31 - 1


def path_id(request: Request, name: str, thing: str = "page") -> int:
    """The ``{name:int}`` path parameter as a row id; :class:`NotFound` past :data:`ID_MAX`
    (the 404 page, not a 500)."""
    number = int(request.path_params[name])
    if not 0 < number <= ID_MAX:
        raise NotFound(f"There is no such {thing}.")
    return number
