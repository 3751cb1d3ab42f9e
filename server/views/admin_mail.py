"""The admin's mail pages: the email outbox (owner and staff), one message, and its HTML.

The HTML part is shown in a sandboxed ``<iframe>`` from its own same-origin page, which has its
own Content-Security-Policy: no scripts at all, inline styles only (emails carry their CSS in
``style`` attributes, which the admin's policy forbids), images over https, nothing else, and
framed by our own pages only. A password-reset message's body is never shown (it holds a
sign-in link for someone else's login).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from buybutton_server.domain.admin_auth import Admin
from buybutton_server.errors import NotFound
from buybutton_server.services import mail
from buybutton_server.views.admin_kit import NO_STORE, admin_page, path_id, render

LIMIT = 200
BODY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox"
)


@admin_page()
async def mail_page(request: Request, user: Admin) -> Response:
    failed_only = request.query_params.get("failed") == "1"
    rows = await run_in_threadpool(
        mail.list_messages, request.app.state.sessions, failed_only=failed_only, limit=LIMIT
    )
    context = {"messages": rows, "failed_only": failed_only, "limit": LIMIT}
    return render(request, user, "admin_mail.html", context)


def _message_id(request: Request) -> int:
    return path_id(request, "message_id", "email")


@admin_page()
async def message_page(request: Request, user: Admin) -> Response:
    detail = await run_in_threadpool(
        mail.message, request.app.state.sessions, request.app.state.settings, _message_id(request)
    )
    return render(request, user, "admin_mail.html", {"detail": detail})


@admin_page()
async def message_html(request: Request, user: Admin) -> Response:
    detail = await run_in_threadpool(
        mail.message, request.app.state.sessions, request.app.state.settings, _message_id(request)
    )
    if detail.html is None:
        raise NotFound("This email's body is not shown here.")
    headers = {
        **NO_STORE,
        "Content-Security-Policy": BODY_POLICY,
        "X-Frame-Options": "SAMEORIGIN",
    }
    return HTMLResponse(detail.html, headers=headers)


ROUTES: list[BaseRoute] = [
    Route("/admin/mail", mail_page, methods=["GET"]),
    Route("/admin/mail/{message_id:int}", message_page, methods=["GET"]),
    Route("/admin/mail/{message_id:int}/html", message_html, methods=["GET"]),
]
