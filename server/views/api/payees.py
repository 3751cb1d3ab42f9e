"""``/api/v1/payees``: sellers and creators, their commission rules, onboarding, statements;
and an order's commission ledger. A payee is named by its code (``anna``) or its id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field

from buybutton_server.errors import NotFound
from buybutton_server.services import commissions, payees
from buybutton_server.services.api_types import Query
from buybutton_server.services.commissions import Ledger, StatementAnswer
from buybutton_server.services.payees import (
    OnboardingLink,
    Payee,
    PayeeCreate,
    PayeeList,
    PayeeUpdate,
    RuleInput,
)
from buybutton_server.views.api.routing import ApiContext, Router

router = Router()


class StatementQuery(Query):
    """The period, ``YYYY-MM-DD`` (``to`` exclusive); by default the last 30 days."""

    start: Annotated[str, Field(max_length=10)] | None = None
    end: Annotated[str, Field(max_length=10)] | None = None


@router.get("/payees", "List payees (sellers and creators)")
def list_payees(api: ApiContext) -> PayeeList:
    return payees.list_payees(api.sessions)


@router.post("/payees", "Create a payee", status=201)
def create_payee(api: ApiContext, body: PayeeCreate) -> Payee:
    return payees.create_payee(api.sessions, body)


@router.get("/payees/{payee}", "Get a payee with its rules")
def get_payee(api: ApiContext, payee: str) -> Payee:
    return payees.get_payee(api.sessions, payees.payee_id_of(api.sessions, payee))


@router.patch("/payees/{payee}", "Change a payee (its locations, discount codes, fallback)")
def update_payee(api: ApiContext, payee: str, body: PayeeUpdate) -> Payee:
    return payees.update_payee(api.sessions, payees.payee_id_of(api.sessions, payee), body)


@router.post("/payees/{payee}/rules", "Add a commission rule", status=201)
def add_rule(api: ApiContext, payee: str, body: RuleInput) -> Payee:
    return payees.add_rule(api.sessions, payees.payee_id_of(api.sessions, payee), body)


@router.put("/payees/{payee}/rules/{rule}", "Change a rule (placed orders keep theirs)")
def update_rule(api: ApiContext, payee: str, rule: str, body: RuleInput) -> Payee:
    payee_id = payees.payee_id_of(api.sessions, payee)
    return payees.update_rule(api.sessions, payee_id, _number(rule), body)


@router.delete("/payees/{payee}/rules/{rule}", "Delete a rule (placed orders keep theirs)")
def delete_rule(api: ApiContext, payee: str, rule: str) -> Payee:
    payee_id = payees.payee_id_of(api.sessions, payee)
    return payees.delete_rule(api.sessions, payee_id, _number(rule))


@router.post(
    "/payees/{payee}/onboarding-link",
    "A fresh onboarding link for the payee's connected account (made now: links expire)",
)
def onboarding_link(api: ApiContext, payee: str) -> OnboardingLink:
    payee_id = payees.payee_id_of(api.sessions, payee)
    key = commissions.statement_key_of(api.sessions, payee_id)
    back = f"{api.settings.base_url}/payee/{key}"
    return payees.onboarding_link(
        api.sessions,
        api.payments,
        payee_id,
        refresh_url=f"{back}/onboarding",
        return_url=f"{back}/returned",
    )


@router.get("/payees/{payee}/statement", "A payee's statement for a period (no shopper data)")
def payee_statement(api: ApiContext, payee: str, query: StatementQuery) -> StatementAnswer:
    payee_id = payees.payee_id_of(api.sessions, payee)
    start, end = commissions.period(query.start, query.end, now=datetime.now(UTC))
    return commissions.statement_answer(commissions.statement(api.sessions, payee_id, start, end))


@router.get("/orders/{number}/ledger", "An order's split: platform and each payee, net")
def order_ledger(api: ApiContext, number: str) -> Ledger:
    return commissions.order_ledger(api.sessions, number)


def _number(text: str) -> int:
    if not text.isdigit() or len(text) > 9:
        raise NotFound(f"No rule {text!r}.")
    return int(text)
