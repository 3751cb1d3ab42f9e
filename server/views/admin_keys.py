"""The owner's API keys page: list, create (the key shown once), revoke after a confirmation.

A new key appears only in the answer to the form that made it (never in a URL, never
cached: every admin page is ``no-store``); the database keeps its hash.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from buybutton_server.domain.admin_auth import Admin
from buybutton_server.errors import Conflict, InvalidInput
from buybutton_server.services import api_keys
from buybutton_server.views.admin_kit import admin_page, done, posted_form, render

NOTICES = {
    "revoked": "The key is revoked: every request that uses it is refused from now on.",
}


def _context(request: Request, **extra: Any) -> dict[str, Any]:
    keys = api_keys.list_keys(request.app.state.sessions)
    return {
        "keys": keys,
        "scopes": api_keys.SCOPES,
        "form": {"name": "", "scope": "read"},
        "once": api_keys.new_form_token(),
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        **extra,
    }


@admin_page(owner_only=True)
async def keys_page(request: Request, user: Admin) -> Response:
    context = await run_in_threadpool(_context, request)
    return render(request, user, "admin_keys.html", context)


@admin_page(owner_only=True)
async def create_key(request: Request, user: Admin) -> Response:
    """Make a key and show it once. The form carries a one-time token (``once``): posting
    it again (refreshing this answer) makes no second key but says the form was used."""
    form = await posted_form(request, max_fields=6)
    name, scope = str(form.get("name", "")), str(form.get("scope", ""))
    once = str(form.get("once", ""))
    try:
        made = await run_in_threadpool(
            api_keys.create_key, request.app.state.sessions, name, scope, once
        )
    except InvalidInput as problem:
        context = await run_in_threadpool(
            _context, request, problem=problem.message, form={"name": name, "scope": scope}
        )
        return render(request, user, "admin_keys.html", context, status=422)
    except Conflict as used:
        context = await run_in_threadpool(_context, request, problem=used.message)
        return render(request, user, "admin_keys.html", context, status=409)
    context = await run_in_threadpool(_context, request, created=made)
    return render(request, user, "admin_keys.html", context)


@admin_page(owner_only=True)
async def confirm_revoke(request: Request, user: Admin) -> Response:
    prefix = request.path_params["prefix"]
    key = await run_in_threadpool(api_keys.find_key, request.app.state.sessions, prefix)
    return render(request, user, "admin_keys.html", {"revoking": key})


@admin_page(owner_only=True)
async def revoke_key(request: Request, user: Admin) -> Response:
    await posted_form(request, max_fields=5)
    prefix = request.path_params["prefix"]
    await run_in_threadpool(api_keys.revoke_key, request.app.state.sessions, prefix)
    return done("/admin/keys", "revoked")


ROUTES: list[BaseRoute] = [
    Route("/admin/keys", keys_page, methods=["GET"]),
    Route("/admin/keys", create_key, methods=["POST"]),
    Route("/admin/keys/{prefix}/revoke", confirm_revoke, methods=["GET"]),
    Route("/admin/keys/{prefix}/revoke", revoke_key, methods=["POST"]),
]
