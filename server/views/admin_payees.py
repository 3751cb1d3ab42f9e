"""Payees in the admin (owner only): ``/admin/payees`` lists sellers and creators and adds
one; ``/admin/payees/{id}`` shows its account, details, rules and statement, with the
onboarding button (a fresh Stripe account link made when clicked), the payee's form
(``/edit``) and its rules' (``/rules``: add, or change the rule named by ``rule``;
``?rule=ID`` fills the form), each a CSRF-checked POST answering 303 with a notice, or the
page again with the problem and the values typed (409/422).

The payee's own page, ``/payee/{key}`` (an unguessable key, no sign-in), shows their
statement: their sales and transfers, never the shoppers' data. Stripe sends an onboarding
payee back to ``/payee/{key}/returned`` (the account's state is read then) or, when the link
expired, to ``/payee/{key}/onboarding`` (a fresh link)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from buybutton.money import decimal_string, is_currency, parse_amount
from buybutton_server.domain.admin_auth import Admin
from buybutton_server.errors import Conflict, InvalidInput, NotFound, ShopError
from buybutton_server.services import commissions, payees
from buybutton_server.services.catalog_reads import shop_currency
from buybutton_server.services.payees import PayeeCreate, PayeeUpdate, RuleInput
from buybutton_server.views.admin_kit import admin_page, done, path_id, posted_form, render

NOTICES = {
    "created": "The payee is added.",
    "saved": "The payee is saved.",
    "rule-added": "The rule is added. Orders placed already keep theirs.",
    "rule-saved": "The rule is changed. Orders placed already keep the shares they had.",
    "rule-deleted": "The rule is deleted. Orders placed already keep theirs.",
    "refreshed": "The account's state is read from the provider.",
}
NO_STORE = {"Cache-Control": "no-store"}


def _text(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _list(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


def _money(text: str, name: str, currency: str) -> int | None:
    """Major units as typed ("1.50") in the rule's currency's minor units."""
    if not text:
        return None
    try:
        return parse_amount(text, currency)
    except ValueError as problem:
        raise InvalidInput(f"The {name}: {problem}. Type an amount such as 1.50.") from None


def _percent(text: str) -> int:
    """A percentage as typed ("12.5", "12.5 %", "12,5") in basis points (two decimals)."""
    typed = text.removesuffix("%").strip().replace(",", ".") or "0"
    whole, _, part = typed.partition(".")
    if not whole.isdigit() or not (part.isdigit() or part == "") or len(part) > 2:
        raise InvalidInput("Type the percentage as a number with up to two decimals, e.g. 12.5.")
    if len(whole) > 3 or int(whole) * 100 + int(part.ljust(2, "0")) > 10_000:
        raise InvalidInput(
            "The percentage is 0-100 %: a rule never takes more than the line.",
            code="rule_over_line",
        )
    return int(whole) * 100 + int(part.ljust(2, "0"))


def _rule_form(rule: Any) -> dict[str, str]:
    """A rule's numbers as an owner types them, to edit it."""
    currency = rule.currency or "USD"

    def major(amount: int | None) -> str:
        return "" if amount is None else decimal_string(amount, currency)

    percent = f"{Decimal(rule.percent_bp) / 100:f}"
    return {
        "rule": str(rule.id),
        "sku": rule.sku or "",
        "category": rule.category or "",
        "percent": percent.rstrip("0").rstrip(".") if "." in percent else percent,
        "fixed": major(rule.fixed_amount),
        "minimum": major(rule.min_amount),
        "maximum": major(rule.max_amount),
        "currency": rule.currency or "",
    }


def _first_problem(error: ValidationError) -> str:
    """A pydantic error as one sentence: the domain's own message, or the field's."""
    first = error.errors()[0]
    if first["type"] == "rule":
        return str(first["msg"])
    field = ".".join(str(part) for part in first["loc"]).replace("_", " ")
    return f"{field.capitalize()}: {first['msg']}."


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
    except ValidationError as problem:
        return await _list_page(
            request, user, status=422, problem=_first_problem(problem), form=sent
        )
    return done(f"/admin/payees/{made.id}", "created")


async def _detail(
    request: Request,
    user: Admin,
    payee_id: int,
    *,
    status: int = 200,
    problem: str | None = None,
    form: dict[str, str] | None = None,
    edit: dict[str, str] | None = None,
) -> Response:
    """The payee's page; ``form`` refills the rule form (a rule being edited has its id in
    ``rule``; ``?rule=ID`` opens one), ``edit`` the payee's own form, as typed."""
    sessions = request.app.state.sessions
    try:
        payee = await run_in_threadpool(payees.get_payee, sessions, payee_id)
    except NotFound:
        missing = {"title": "No such payee", "message": f"There is no payee {payee_id}."}
        return render(request, user, "admin_message.html", missing, status=404)
    if form is None:
        asked = request.query_params.get("rule", "")
        chosen = [r for r in payee.rules if str(r.id) == asked]
        form = _rule_form(chosen[0]) if chosen else {}
    start, end = commissions.period(None, None, now=datetime.now(UTC))
    statement = await run_in_threadpool(commissions.statement, sessions, payee_id, start, end)
    context: dict[str, Any] = {
        "payee": payee,
        "statement": commissions.statement_answer(statement),
        "statement_key": statement.payee.statement_key,
        "problem": problem,
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        "form": form,
        "edit": edit or _payee_form(payee),
        "action": f"/admin/payees/{payee_id}",
    }
    return render(request, user, "admin_payee.html", context, status=status)


def _payee_form(payee: payees.Payee) -> dict[str, str]:
    return {
        "name": payee.name,
        "kind": payee.kind,
        "email": payee.email or "",
        "unready": payee.unready,
        "locations": ", ".join(payee.locations),
        "codes": ", ".join(payee.discount_codes),
    }


@admin_page(owner_only=True)
async def payee_page(request: Request, user: Admin) -> Response:
    return await _detail(request, user, path_id(request, "id", "payee"))


PAYEE_FIELDS = ("name", "kind", "email", "unready", "locations", "codes")
RULE_FIELDS = ("rule", "sku", "category", "percent", "fixed", "minimum", "maximum", "currency")


@admin_page(owner_only=True)
async def act(request: Request, user: Admin) -> Response:
    form = await posted_form(request)
    payee_id = path_id(request, "id", "payee")
    verb = request.path_params["verb"]
    state = request.app.state
    fields = PAYEE_FIELDS if verb == "edit" else RULE_FIELDS
    sent = {name: _text(form, name) for name in fields}
    kept = {"edit": sent} if verb == "edit" else {"form": sent}
    here = f"/admin/payees/{payee_id}"
    try:
        if verb == "onboarding":
            link = await run_in_threadpool(_onboarding, request, payee_id)
            return RedirectResponse(link, 303, NO_STORE)
        if verb == "refresh":
            await run_in_threadpool(
                payees.refresh_account, state.sessions, state.payments, payee_id
            )
            return done(here, "refreshed")
        if verb == "edit":
            update = _payee_update(sent)
            await run_in_threadpool(payees.update_payee, state.sessions, payee_id, update)
            return done(here, "saved")
        if verb == "rules":
            body = await run_in_threadpool(_rule_input, sent, lambda: shop_currency(state.sessions))
            rule_id = _rule_id(sent["rule"]) if sent["rule"] else None
            if rule_id is None:
                await run_in_threadpool(payees.add_rule, state.sessions, payee_id, body)
                return done(here, "rule-added")
            await run_in_threadpool(payees.update_rule, state.sessions, payee_id, rule_id, body)
            return done(here, "rule-saved")
        if verb == "delete-rule":
            rule_id = _rule_id(_text(form, "rule"))
            await run_in_threadpool(payees.delete_rule, state.sessions, payee_id, rule_id)
            return done(here, "rule-deleted")
    except NotFound:
        return await _detail(request, user, payee_id, status=404, problem="No such rule.")
    except ShopError as problem:
        status = 409 if isinstance(problem, Conflict) else 422
        return await _detail(
            request, user, payee_id, status=status, problem=problem.message, **kept
        )
    except ValidationError as problem:
        return await _detail(
            request, user, payee_id, status=422, problem=_first_problem(problem), **kept
        )
    raise NotFound()


def _rule_id(text: str) -> int:
    if not text.isdigit() or len(text) > 9:
        raise NotFound("There is no such rule.")
    return int(text)


def _payee_update(sent: dict[str, str]) -> PayeeUpdate:
    """The payee's form as an update: every field is sent, so each replaces the old."""
    if sent["kind"] not in ("seller", "creator"):
        raise InvalidInput("A payee is a seller or a creator.")
    if sent["unready"] not in ("head_office", "refuse"):
        raise InvalidInput("Choose what happens to its lines while it cannot be paid.")
    return PayeeUpdate.model_validate(
        {
            "name": sent["name"],
            "kind": sent["kind"],
            "email": sent["email"],
            "unready": sent["unready"],
            "locations": _list(sent["locations"]),
            "discount_codes": _list(sent["codes"]),
        }
    )


def _rule_input(sent: dict[str, str], shop: Callable[[], str]) -> RuleInput:
    """The rule form as typed: a percentage ("12.5 %"), amounts in major units of the
    rule's currency (the shop's when none is typed and an amount is)."""
    currency = sent["currency"].upper()
    amounts = [sent[name] for name in ("fixed", "minimum", "maximum")]
    if currency and not is_currency(currency):
        raise InvalidInput(f"{sent['currency']!r} is not a currency code (e.g. EUR).")
    if not currency and any(amounts):
        currency = shop()
    return RuleInput(
        sku=sent["sku"] or None,
        category=sent["category"] or None,
        percent_bp=_percent(sent["percent"]),
        fixed_amount=_money(sent["fixed"], "fixed part", currency),
        min_amount=_money(sent["minimum"], "minimum", currency),
        max_amount=_money(sent["maximum"], "maximum", currency),
        currency=currency or None,
    )


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
