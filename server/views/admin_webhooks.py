"""The owner's webhook endpoints: list, create (the signing secret shown once), and a page per
endpoint to rotate its secret, disable or enable it, delete it, read its deliveries, retry
one, or send everything since a moment again.

URLs are checked as the API checks them (in production: https, an allowed port, a public
address). Secrets appear only in the answer to the form that made them.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from buybutton_server.domain.admin_auth import Admin
from buybutton_server.errors import Conflict, InvalidInput
from buybutton_server.services import webhook_admin
from buybutton_server.services.webhook_admin import NewSecret
from buybutton_server.views.admin_kit import admin_page, done, posted_form, render

NOTICES = {
    "enabled": "The endpoint is enabled: new events reach it from now on.",
    "disabled": "The endpoint is disabled: pending deliveries are canceled and nothing more "
    "is sent until you enable it.",
    "deleted": "The endpoint is deleted, with its delivery log.",
    "retry": "The delivery is due again: it is sent within seconds (reload to see the result).",
    "replayed": "The events are due again: they are sent within seconds.",
}


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("notice", ""))


def _settings(request: Request) -> tuple[bool, tuple[int, ...]]:
    settings = request.app.state.settings
    return not settings.production, settings.webhook_ports


def _list_context(request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "endpoints": webhook_admin.list_endpoints(request.app.state.sessions),
        "event_types": webhook_admin.EVENT_TYPES,
        "form": {"url": "", "events": list(webhook_admin.EVENT_TYPES), "description": ""},
        "production": request.app.state.settings.production,
        "notice": _notice(request),
        **extra,
    }


def _before(request: Request) -> int | None:
    raw = request.query_params.get("before", "")
    return int(raw) if raw.isdigit() and len(raw) < 18 else None


def _detail_context(request: Request, endpoint_id: str, **extra: Any) -> dict[str, Any]:
    sessions = request.app.state.sessions
    endpoint = webhook_admin.endpoint(sessions, endpoint_id)
    return {
        "endpoint": endpoint,
        "deliveries": webhook_admin.recent_deliveries(
            sessions, endpoint_id, before=_before(request)
        ),
        "paged": _before(request) is not None,
        "notice": _notice(request),
        **extra,
    }


@admin_page(owner_only=True)
async def endpoints_page(request: Request, user: Admin) -> Response:
    context = await run_in_threadpool(_list_context, request)
    return render(request, user, "admin_webhooks.html", context)


@admin_page(owner_only=True)
async def create_endpoint(request: Request, user: Admin) -> Response:
    # One checkbox per event type, plus the URL, description and CSRF token.
    form = await posted_form(request, max_fields=len(webhook_admin.EVENT_TYPES) + 8)
    url, description = str(form.get("url", "")), str(form.get("description", ""))
    events = [str(e) for e in form.getlist("events")]
    allow_private, ports = _settings(request)
    try:
        made = await run_in_threadpool(
            lambda: webhook_admin.create_endpoint(
                request.app.state.sessions,
                url=url,
                events=events,
                description=description,
                allow_private=allow_private,
                ports=ports,
            )
        )
    except InvalidInput as problem:
        kept = {"url": url, "events": events, "description": description}
        context = await run_in_threadpool(
            _list_context, request, problem=problem.message, form=kept
        )
        return render(request, user, "admin_webhooks.html", context, status=422)
    return await _show_secret(request, user, made)


async def _show_secret(request: Request, user: Admin, made: NewSecret) -> Response:
    context = await run_in_threadpool(_detail_context, request, made.endpoint.id, new=made)
    return render(request, user, "admin_webhook.html", context)


@admin_page(owner_only=True)
async def endpoint_page(request: Request, user: Admin) -> Response:
    endpoint_id = request.path_params["endpoint_id"]
    context = await run_in_threadpool(_detail_context, request, endpoint_id)
    if request.query_params.get("notice") == "replayed":
        queued = request.query_params.get("queued", "")
        if queued.isdigit():
            context["notice"] = (
                f"{int(queued)} event(s) are due again: they are sent within seconds."
            )
    return render(request, user, "admin_webhook.html", context)


async def _refused(
    request: Request, user: Admin, endpoint_id: str, problem: str, status: int
) -> Response:
    context = await run_in_threadpool(_detail_context, request, endpoint_id, problem=problem)
    return render(request, user, "admin_webhook.html", context, status=status)


@admin_page(owner_only=True)
async def rotate_secret(request: Request, user: Admin) -> Response:
    await posted_form(request, max_fields=5)
    endpoint_id = request.path_params["endpoint_id"]
    try:
        made = await run_in_threadpool(
            webhook_admin.rotate_secret, request.app.state.sessions, endpoint_id
        )
    except Conflict as refused:
        return await _refused(request, user, endpoint_id, refused.message, 409)
    return await _show_secret(request, user, made)


def _switch(enabled: bool) -> Any:
    @admin_page(owner_only=True)
    async def switch(request: Request, user: Admin) -> Response:
        await posted_form(request, max_fields=5)
        endpoint_id = request.path_params["endpoint_id"]
        await run_in_threadpool(
            lambda: webhook_admin.set_enabled(
                request.app.state.sessions, endpoint_id, enabled=enabled
            )
        )
        return done(f"/admin/webhooks/{endpoint_id}", "enabled" if enabled else "disabled")

    return switch


@admin_page(owner_only=True)
async def confirm_delete(request: Request, user: Admin) -> Response:
    endpoint_id = request.path_params["endpoint_id"]
    endpoint = await run_in_threadpool(
        webhook_admin.endpoint, request.app.state.sessions, endpoint_id
    )
    return render(request, user, "admin_webhook.html", {"endpoint": endpoint, "deleting": True})


@admin_page(owner_only=True)
async def delete_endpoint(request: Request, user: Admin) -> Response:
    await posted_form(request, max_fields=5)
    endpoint_id = request.path_params["endpoint_id"]
    await run_in_threadpool(webhook_admin.delete_endpoint, request.app.state.sessions, endpoint_id)
    return done("/admin/webhooks", "deleted")


@admin_page(owner_only=True)
async def retry_delivery(request: Request, user: Admin) -> Response:
    form = await posted_form(request, max_fields=5)
    endpoint_id = request.path_params["endpoint_id"]
    event_id = str(form.get("event_id", ""))
    try:
        await run_in_threadpool(
            webhook_admin.retry, request.app.state.sessions, endpoint_id, event_id
        )
    except InvalidInput as problem:
        return await _refused(request, user, endpoint_id, problem.message, 422)
    except Conflict as refused:
        return await _refused(request, user, endpoint_id, refused.message, 409)
    return done(f"/admin/webhooks/{endpoint_id}", "retry")


@admin_page(owner_only=True)
async def replay_since(request: Request, user: Admin) -> Response:
    form = await posted_form(request, max_fields=5)
    endpoint_id = request.path_params["endpoint_id"]
    since = str(form.get("since", ""))
    try:
        queued = await run_in_threadpool(
            webhook_admin.replay_since, request.app.state.sessions, endpoint_id, since
        )
    except InvalidInput as problem:
        return await _refused(request, user, endpoint_id, problem.message, 422)
    except Conflict as refused:
        return await _refused(request, user, endpoint_id, refused.message, 409)
    return done(f"/admin/webhooks/{endpoint_id}?queued={queued}", "replayed")


_ONE = "/admin/webhooks/{endpoint_id}"

ROUTES: list[BaseRoute] = [
    Route("/admin/webhooks", endpoints_page, methods=["GET"]),
    Route("/admin/webhooks", create_endpoint, methods=["POST"]),
    Route(_ONE, endpoint_page, methods=["GET"]),
    Route(_ONE + "/rotate", rotate_secret, methods=["POST"]),
    Route(_ONE + "/disable", _switch(False), methods=["POST"]),
    Route(_ONE + "/enable", _switch(True), methods=["POST"]),
    Route(_ONE + "/delete", confirm_delete, methods=["GET"]),
    Route(_ONE + "/delete", delete_endpoint, methods=["POST"]),
    Route(_ONE + "/retry", retry_delivery, methods=["POST"]),
    Route(_ONE + "/replay", replay_since, methods=["POST"]),
]
