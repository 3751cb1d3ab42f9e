"""Staff logins (owner), the signed-in login's password, forgotten passwords, and the shop's
settings (owner). Routes are listed in ``ROUTES``; app.py mounts them.

The password-reset pages are for people who cannot sign in: they carry no CSRF token (there is
no session to bind one to); the security middleware refuses cross-site posts, the request form
is rate-limited, and a set-password link is its own secret (domain/password_reset.py).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from buybutton_server.domain.admin_auth import COOKIE, MIN_PASSWORD, ROLES, SESSION_LIFETIME, Admin
from buybutton_server.domain.shop_profile import FIELDS, TAX_FIELDS, Profile, ProfileInvalid
from buybutton_server.errors import Conflict, InvalidInput, ShopError
from buybutton_server.services import shop_profile, staff
from buybutton_server.views.admin_kit import (
    NO_STORE,
    admin_page,
    done,
    path_id,
    posted_form,
    render,
    session_token,
)

NOTICES = {
    "added": "The login was added. It can sign in with the password you set.",
    "invited": "The login was added and an invitation to set a password was emailed.",
    "role": "The role was changed.",
    "disabled": "The login was disabled; its sessions have ended.",
    "enabled": "The login was enabled again.",
    "link": "A link to set a new password was emailed.",
    "locations": "The login's stores were changed.",
    "password": "Your password was changed. Your other sessions have ended.",
    "reset": "Your new password is set and you are signed in. Other sessions have ended.",
    "saved": "The shop's settings were saved.",
}
SENT = (
    "If that address has a login here, we've sent it a link to set a new password. The link "
    "works once, for one hour. Nothing arrived? Check the spam folder, or ask the shop's owner."
)


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("notice", ""))


def _ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sign_in(response: Response, cookie: str) -> Response:
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return response


# -- /admin/staff --------------------------------------------------------------------------------


async def _staff_page(
    request: Request,
    user: Admin,
    *,
    problem: str | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    rows = await run_in_threadpool(staff.logins, request.app.state.sessions)
    stores, scopes = await run_in_threadpool(staff.location_scopes, request.app.state.sessions)
    context: dict[str, Any] = {
        "logins": rows,
        "stores": stores,
        "scopes": scopes,
        "roles": ROLES,
        "values": values or {"role": "staff"},
        "problem": problem,
        "notice": None if problem else _notice(request),
        "min_password": MIN_PASSWORD,
    }
    return render(request, user, "admin_staff.html", context, status=status)


@admin_page(owner_only=True)
async def staff_list(request: Request, user: Admin) -> Response:
    return await _staff_page(request, user)


@admin_page(owner_only=True)
async def staff_add(request: Request, user: Admin) -> Response:
    form = await posted_form(request, max_fields=8)
    email, role = str(form.get("email", "")).strip(), str(form.get("role", ""))
    password = str(form.get("password", ""))
    settings = request.app.state.settings
    try:
        await run_in_threadpool(
            partial(
                staff.add_login,
                secret_keys=settings.secret_keys,
                base_url=settings.base_url,
            ),
            request.app.state.sessions,
            email,
            role,
            password,
        )
    except InvalidInput as error:
        problem = error.message[:1].upper() + error.message[1:] + "."
        values = {"email": email, "role": role}
        return await _staff_page(request, user, problem=problem, values=values, status=422)
    return done("/admin/staff", "added" if password else "invited")


@admin_page(owner_only=True)
async def staff_change(request: Request, user: Admin) -> Response:
    """``POST /admin/staff/{id}`` with ``action``: role (+ ``role``), disable, enable, link,
    locations (+ ``location`` codes; none: every location)."""
    form = await posted_form(request, max_fields=208)
    action, user_id = str(form.get("action", "")), path_id(request, "user_id", "login")
    sessions, settings = request.app.state.sessions, request.app.state.settings
    try:
        if action == "locations":
            codes = [str(code) for code in form.getlist("location")]
            email = await run_in_threadpool(staff.set_locations, sessions, user_id, codes)
        elif action == "link":
            email = await run_in_threadpool(
                partial(
                    staff.send_set_password_link,
                    secret_keys=settings.secret_keys,
                    base_url=settings.base_url,
                ),
                sessions,
                user_id,
            )
        elif action in ("role", "disable", "enable"):
            change: dict[str, Any] = (
                {"role": str(form.get("role", ""))}
                if action == "role"
                else {"enabled": action == "enable"}
            )
            email = await run_in_threadpool(
                partial(staff.update_login, **change), sessions, user, user_id
            )
        else:
            raise InvalidInput("Choose what to change.")
    except (Conflict, InvalidInput) as error:
        status = 409 if isinstance(error, Conflict) else 422
        return await _staff_page(request, user, problem=error.message, status=status)
    if email is None:
        return render(
            request,
            user,
            "admin_message.html",
            {"title": "No such login", "message": "That login does not exist (or is disabled)."},
            status=404,
        )
    notices = {"role": "role", "link": "link", "locations": "locations"}
    return done("/admin/staff", notices.get(action, action + "d"))


# -- /admin/account ------------------------------------------------------------------------------


@admin_page()
async def account(request: Request, user: Admin) -> Response:
    context: dict[str, Any] = {
        "notice": _notice(request),
        "min_password": MIN_PASSWORD,
        "errors": {},
    }
    return render(request, user, "admin_account.html", context)


@admin_page()
async def change_password(request: Request, user: Admin) -> Response:
    form = await posted_form(request, max_fields=6)
    try:
        await run_in_threadpool(
            partial(
                staff.change_password,
                current=str(form.get("current", "")),
                new=str(form.get("new", "")),
                confirm=str(form.get("confirm", "")),
            ),
            request.app.state.sessions,
            user,
            session_token(request),
        )
    except InvalidInput as error:
        field = "current" if error.context.get("field") == "current" else "new"
        if "confirmation" in error.message:
            field = "confirm"
        message = error.message[:1].upper() + error.message[1:] + "."
        context = {"min_password": MIN_PASSWORD, "errors": {field: message}, "problem": message}
        return render(request, user, "admin_account.html", context, status=422)
    return done("/admin/account", "password")


# -- /admin/password-reset -----------------------------------------------------------------------


async def reset_form(request: Request) -> Response:
    return render(request, None, "admin_password_reset.html", {"sent": False})


async def reset_request(request: Request) -> Response:
    async with request.form(max_files=0, max_fields=5) as form:
        email = str(form.get("email", ""))[:320]
    state = request.app.state
    await run_in_threadpool(staff.limit_reset_requests, state.sessions, _ip(request), email)
    # The page answers first; the lookup and the email follow, so a known and an unknown
    # address get the same answer in the same time.
    task = BackgroundTask(
        partial(
            staff.send_reset_link,
            secret_keys=state.settings.secret_keys,
            base_url=state.settings.base_url,
        ),
        state.sessions,
        email,
    )
    response = render(request, None, "admin_password_reset.html", {"sent": True, "message": SENT})
    response.background = task
    return response


def _link_problem(request: Request, error: ShopError) -> Response:
    status = 410 if error.code == "gone" else 400
    context = {"broken": error, "min_password": MIN_PASSWORD}
    return render(request, None, "admin_password_set.html", context, status=status)


async def set_password_form(request: Request) -> Response:
    state = request.app.state
    try:
        email = await run_in_threadpool(
            staff.reset_email,
            state.sessions,
            state.settings.secret_keys,
            request.path_params["token"],
        )
    except ShopError as error:
        return _link_problem(request, error)
    context = {"email": email, "min_password": MIN_PASSWORD, "token": request.path_params["token"]}
    response = render(request, None, "admin_password_set.html", context)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the address
    return response


async def set_password(request: Request) -> Response:
    state, token = request.app.state, request.path_params["token"]
    async with request.form(max_files=0, max_fields=5) as form:
        new, confirm = str(form.get("new", "")), str(form.get("confirm", ""))
    try:
        cookie = await run_in_threadpool(
            partial(staff.complete_reset, new=new, confirm=confirm),
            state.sessions,
            state.settings.secret_keys,
            token,
        )
    except InvalidInput as error:
        try:
            email = await run_in_threadpool(
                staff.reset_email, state.sessions, state.settings.secret_keys, token
            )
        except ShopError as broken:
            return _link_problem(request, broken)
        message = error.message[:1].upper() + error.message[1:] + "."
        context = {"email": email, "token": token, "min_password": MIN_PASSWORD, "problem": message}
        return render(request, None, "admin_password_set.html", context, status=422)
    except ShopError as error:
        return _link_problem(request, error)
    return _sign_in(RedirectResponse("/admin/account?notice=reset", 303, NO_STORE), cookie)


# -- /admin/settings -----------------------------------------------------------------------------


def _settings_values(saved: Profile) -> dict[str, str]:
    shown = saved.identity
    return {
        "name": shown.name,
        "support_email": shown.support_email or "",
        "logo_url": shown.logo_url or "",
        "legal_address": shown.legal_address or "",
        "terms_url": shown.terms_url or "",
        "returns_url": shown.returns_url or "",
        "privacy_url": shown.privacy_url or "",
        "allowed_origins": "\n".join(saved.allowed_origins),
        "country": saved.tax.country,
        "prices_include_tax": "yes" if saved.tax.prices_include_tax else "no",
        "collect_tax": "yes" if saved.tax.collect_tax else "no",
        "default_locale": shown.default_locale or "",
    }


def _settings_context(request: Request, values: dict[str, str]) -> dict[str, Any]:
    return {
        "values": values,
        "errors": {},
        "configured_origins": request.app.state.settings.allowed_origins,
        "https_only": request.app.state.settings.production,
        "countries": shop_profile.country_choices(),
        "languages": shop_profile.LANGUAGE_CHOICES,
    }


@admin_page(owner_only=True)
async def settings_page(request: Request, user: Admin) -> Response:
    saved = await run_in_threadpool(shop_profile.profile, request.app.state.sessions)
    context = _settings_context(request, _settings_values(saved))
    context["notice"] = _notice(request)
    return render(request, user, "admin_settings.html", context)


@admin_page(owner_only=True)
async def save_settings(request: Request, user: Admin) -> Response:
    form = await posted_form(request, max_fields=16)
    values = {name: str(form.get(name, "")) for name in FIELDS}
    values.update({name: str(form[name]) for name in TAX_FIELDS if name in form})
    try:
        await run_in_threadpool(
            partial(
                shop_profile.save, allow_http_origins=not request.app.state.settings.production
            ),
            request.app.state.sessions,
            values,
        )
    except ProfileInvalid as error:
        context = _settings_context(request, values)
        context.update(errors=error.context.get("errors", {}), problem=error.message)
        return render(request, user, "admin_settings.html", context, status=422)
    return done("/admin/settings", "saved")


ROUTES: list[BaseRoute] = [
    Route("/admin/staff", staff_list, methods=["GET"]),
    Route("/admin/staff", staff_add, methods=["POST"]),
    Route("/admin/staff/{user_id:int}", staff_change, methods=["POST"]),
    Route("/admin/account", account, methods=["GET"]),
    Route("/admin/account", change_password, methods=["POST"]),
    Route("/admin/password-reset", reset_form, methods=["GET"]),
    Route("/admin/password-reset", reset_request, methods=["POST"]),
    Route("/admin/password-reset/{token}", set_password_form, methods=["GET"]),
    Route("/admin/password-reset/{token}", set_password, methods=["POST"]),
    Route("/admin/settings", settings_page, methods=["GET"]),
    Route("/admin/settings", save_settings, methods=["POST"]),
]
