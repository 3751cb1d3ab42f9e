"""Payees in the admin (owner only): ``/admin/payees`` lists sellers and creators and adds
one; ``/admin/payees/{id}`` shows its account, rules and statement, with the onboarding
button (a fresh Stripe account link made when clicked) and rule changes, each a CSRF-checked
POST answering 303 with a notice, or the page again with the problem (409/422).

The payee's own page, ``/payee/{key}`` (an unguessable key, no sign-in), shows their
statement: their sales and transfers, never the shoppers' data. Stripe sends an onboarding
payee back to ``/payee/{key}/returned`` (the account's state is read then) or, when the link
expired, to ``/payee/{key}/onboarding`` (a fresh link)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from buybutton_server.domain.admin_auth import Admin
from buybutton_server.errors import Conflict, InvalidInput, NotFound, ShopError
from buybutton_server.services import commissions, payees
from buybutton_server.services.payees import PayeeCreate, RuleInput
from buybutton_server.views.admin_kit import admin_page, done, path_id, posted_form, render

NOTICES = {
    "created": "The payee is added.",
    "rule-added": "The rule is added. Orders placed already keep theirs.",
    "rule-deleted": "The rule is deleted. Orders placed already keep theirs.",
    "refreshed": "The account's state is read from the provider.",
}
NO_STORE = {"Cache-Control": "no-store"}


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _list(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


def _money(text: str, name: str) -> int | None:
    """Major units as typed ("1.50") to minor units (two decimals; the rule's currency)."""
    if not text:
        return None
    whole, _, cents = text.partition(".")
    if not whole.isdigit() or not (cents.isdigit() or cents == "") or len(cents) > 2:
        raise InvalidInput(f"Give the {name} as an amount, e.g. 1.50.")
    return int(whole) * 100 + int((cents or "0").ljust(2, "0"))


def _percent(text: str) -> int:
    """A percentage as typed ("12.5") in basis points."""
    whole, _, part = (text or "0").partition(".")
    if not whole.isdigit() or not (part.isdigit() or part == "") or len(part) > 2:
        raise InvalidInput("Give the percentage as a number, e.g. 12.5.")
    return int(whole) * 100 + int((part or "0").ljust(2, "0"))


@admin_page(owner_only=True)
async def payee_list(request: Request, user: Admin) -> Response:
    return await _list_page(request, user)


async def _list_page(
    request: Request,
    user: Admin,
    *,
    status: int = 200,
    problem: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    found = await run_in_threadpool(payees.list_payees, request.app.state.sessions)
    context: dict[str, Any] = {
        "rows": found.data,
        "problem": problem,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        "form": form or {"kind": "seller", "unready": "head_office"},
    }
    return render(request, user, "admin_payees.html", context, status=status)


@admin_page(owner_only=True)
async def create(request: Request, user: Admin) -> Response:
    form = await posted_form(request)
    sent = {
        name: _text(form, name)
        for name in ("code", "name", "kind", "email", "unready", "locations", "codes")
    }
    try:
        body = PayeeCreate.model_validate(
            {
                "code": sent["code"],
                "name": sent["name"],
                "kind": sent["kind"] if sent["kind"] in ("seller", "creator") else "seller",
                "email": sent["email"] or None,
                "unready": "refuse" if sent["unready"] == "refuse" else "head_office",
                "locations": _list(sent["locations"]),
                "discount_codes": _list(sent["codes"]),
            }
        )
        made = await run_in_threadpool(payees.create_payee, request.app.state.sessions, body)
    except ShopError as problem:
        status = 409 if isinstance(problem, Conflict) else 422
        return await _list_page(request, user, status=status, problem=problem.message, form=sent)
    except ValueError as problem:  # pydantic's ValidationError
        message = str(problem).splitlines()[-1] if str(problem) else "Check the fields."
        return await _list_page(request, user, status=422, problem=message, form=sent)
    return done(f"/admin/payees/{made.id}", "created")


async def _detail(
    request: Request,
    user: Admin,
    payee_id: int,
    *,
    status: int = 200,
    problem: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    sessions = request.app.state.sessions
    try:
        payee = await run_in_threadpool(payees.get_payee, sessions, payee_id)
    except NotFound:
        missing = {"title": "No such payee", "message": f"There is no payee {payee_id}."}
        return render(request, user, "admin_message.html", missing, status=404)
    start, end = commissions.period(None, None, now=datetime.now(UTC))
    statement = await run_in_threadpool(commissions.statement, sessions, payee_id, start, end)
    context: dict[str, Any] = {
        "payee": payee,
        "statement": commissions.statement_answer(statement),
        "statement_key": statement.payee.statement_key,
        "problem": problem,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        "form": form or {},
        "action": f"/admin/payees/{payee_id}",
    }
    return render(request, user, "admin_payee.html", context, status=status)


@admin_page(owner_only=True)
async def payee_page(request: Request, user: Admin) -> Response:
    return await _detail(request, user, path_id(request, "id", "payee"))


@admin_page(owner_only=True)
async def act(request: Request, user: Admin) -> Response:
    form = await posted_form(request)
    payee_id = path_id(request, "id", "payee")
    verb = request.path_params["verb"]
    state = request.app.state
    sent = {
        name: _text(form, name)
        for name in ("sku", "category", "percent", "fixed", "minimum", "maximum", "currency")
    }
    try:
        if verb == "onboarding":
            link = await run_in_threadpool(_onboarding, request, payee_id)
            return RedirectResponse(link, 303, NO_STORE)
        if verb == "refresh":
            await run_in_threadpool(
                payees.refresh_account, state.sessions, state.payments, payee_id
            )
            return done(f"/admin/payees/{payee_id}", "refreshed")
        if verb == "rules":
            body = RuleInput(
                sku=sent["sku"] or None,
                category=sent["category"] or None,
                percent_bp=_percent(sent["percent"]),
                fixed_amount=_money(sent["fixed"], "fixed part"),
                min_amount=_money(sent["minimum"], "minimum"),
                max_amount=_money(sent["maximum"], "maximum"),
                currency=sent["currency"].upper() or None,
            )
            await run_in_threadpool(payees.add_rule, state.sessions, payee_id, body)
            return done(f"/admin/payees/{payee_id}", "rule-added")
        if verb == "delete-rule":
            rule_id = _text(form, "rule")
            if not rule_id.isdigit() or len(rule_id) > 9:
                raise NotFound("There is no such rule.")
            await run_in_threadpool(payees.delete_rule, state.sessions, payee_id, int(rule_id))
            return done(f"/admin/payees/{payee_id}", "rule-deleted")
    except NotFound:
        return await _detail(request, user, payee_id)
    except ShopError as problem:
        status = 409 if isinstance(problem, Conflict) else 422
        return await _detail(
            request, user, payee_id, status=status, problem=problem.message, form=sent
        )
    except ValueError:
        return await _detail(
            request, user, payee_id, status=422, problem="Check the rule's numbers.", form=sent
        )
    raise NotFound()


def _onboarding(request: Request, payee_id: int) -> str:
    state = request.app.state
    found = commissions.statement_key_of(state.sessions, payee_id)
    back = f"{state.settings.base_url}/payee/{found}"
    link = payees.onboarding_link(
        state.sessions,
        state.payments,
        payee_id,
        refresh_url=f"{back}/onboarding",
        return_url=f"{back}/returned",
    )
    return link.url


@admin_page(owner_only=True)
async def statement_csv(request: Request, user: Admin) -> Response:
    payee_id = path_id(request, "id", "payee")
    query = request.query_params
    start, end = commissions.period(query.get("start"), query.get("end"), now=datetime.now(UTC))
    found = await run_in_threadpool(
        commissions.statement, request.app.state.sessions, payee_id, start, end
    )
    return Response(
        commissions.statement_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="statement-{found.payee.code}.csv"',
        },
    )


# -- the payee's own page ----------------------------------------------------------------------


async def own_statement(request: Request) -> Response:
    key = request.path_params["key"]
    start, end = commissions.period(None, None, now=datetime.now(UTC))
    found = await run_in_threadpool(
        commissions.statement_by_key, request.app.state.sessions, key, start, end
    )
    context = {
        "payee_name": found.payee.name,
        "payee_status": found.payee.status,
        "statement": commissions.statement_answer(found),
    }
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request, "payee_statement.html", context, headers={**NO_STORE, "X-Robots-Tag": "noindex"}
    )


async def own_onboarding(request: Request) -> Response:
    """Stripe's ``refresh_url``: the link expired, so make a fresh one and go there."""
    state = request.app.state
    key = request.path_params["key"]
    payee_id = await run_in_threadpool(commissions.payee_id_by_key, state.sessions, key)
    back = f"{state.settings.base_url}/payee/{key}"
    link = await run_in_threadpool(
        lambda: payees.onboarding_link(
            state.sessions,
            state.payments,
            payee_id,
            refresh_url=f"{back}/onboarding",
            return_url=f"{back}/returned",
        )
    )
    return RedirectResponse(link.url, 303, NO_STORE)


async def own_return(request: Request) -> Response:
    """Stripe's ``return_url``: read the account's state, then show the payee's page."""
    state = request.app.state
    key = request.path_params["key"]
    payee_id = await run_in_threadpool(commissions.payee_id_by_key, state.sessions, key)
    await run_in_threadpool(payees.refresh_account, state.sessions, state.payments, payee_id)
    return RedirectResponse(f"/payee/{key}", 303, NO_STORE)


ROUTES: list[BaseRoute] = [
    Route("/admin/payees", payee_list, methods=["GET"]),
    Route("/admin/payees", create, methods=["POST"]),
    Route("/admin/payees/{id:int}", payee_page, methods=["GET"]),
    Route("/admin/payees/{id:int}/statement.csv", statement_csv, methods=["GET"]),
    Route("/admin/payees/{id:int}/{verb}", act, methods=["POST"]),
    Route("/payee/{key}", own_statement, methods=["GET"]),
    Route("/payee/{key}/onboarding", own_onboarding, methods=["GET"]),
    Route("/payee/{key}/returned", own_return, methods=["GET"]),
]
