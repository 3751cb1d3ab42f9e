"""The commission ledger, statements and payouts as the API, the admin and the command line
use them (docs/commissions.md). ``charge_params`` is what the checkout passes to the charge
(``ChargeRequest.connect``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from buybutton_server.db import Sessions, read_session, write_session
from buybutton_server.domain import commission_ledger, commissions, payees, payouts, statements
from buybutton_server.domain.payouts import PayoutRun
from buybutton_server.errors import InvalidInput, NotFound
from buybutton_server.payments.base import PaymentProvider
from buybutton_server.services.api_types import Answer
from buybutton_server.services.payees import payouts_of


class Ledger(Answer):
    order: str
    captured: dict[str, Any]
    refunded: dict[str, Any]
    platform: dict[str, Any]
    payees: list[dict[str, Any]]


class StatementAnswer(Answer):
    payee: str
    start: str | None
    end: str | None
    lines: list[dict[str, Any]]
    transfers: list[dict[str, Any]]
    totals: list[dict[str, Any]]


def charge_params(sessions: Sessions, order_id: int) -> dict[str, Any]:
    """Stripe Connect parameters for the order's charge: pass as ``ChargeRequest(connect=...)``."""
    with read_session(sessions) as session:
        return commissions.charge_params(session, order_id)


def order_ledger(sessions: Sessions, number: str) -> Ledger:
    with read_session(sessions) as session:
        order_id = commission_ledger.order_id_by_number(session, number)
        if order_id is None:
            raise NotFound(f"No order {number!r}.")
        found = commission_ledger.order_ledger(session, order_id)
    return Ledger(**found)


def period(start: str | None, end: str | None, *, now: datetime) -> tuple[datetime, datetime]:
    """``YYYY-MM-DD`` bounds (end exclusive); by default the 30 days before ``now``."""
    try:
        to = datetime.fromisoformat(end).replace(tzinfo=now.tzinfo) if end else now
        since = datetime.fromisoformat(start).replace(tzinfo=now.tzinfo) if start else None
    except ValueError:
        raise InvalidInput("Give dates as YYYY-MM-DD.", code="invalid_date") from None
    since = since or to - timedelta(days=30)
    if since >= to:
        raise InvalidInput("The period's start must come before its end.", code="invalid_date")
    return since, to


def statement(
    sessions: Sessions, payee_id: int, start: datetime, end: datetime
) -> statements.Statement:
    with read_session(sessions) as session:
        payee = payees.get_payee(session, payee_id)
        return statements.statement(session, payee, start, end)


def statement_by_key(
    sessions: Sessions, key: str, start: datetime, end: datetime
) -> statements.Statement:
    """The statement a payee's own page shows (their secret key); NotFound otherwise."""
    with read_session(sessions) as session:
        payee = payees.by_statement_key(session, key)
        if payee is None:
            raise NotFound()
        return statements.statement(session, payee, start, end)


def statement_answer(found: statements.Statement) -> StatementAnswer:
    data = statements.statement_json(found)
    return StatementAnswer(
        payee=data["payee"],
        start=data["from"],
        end=data["to"],
        lines=data["lines"],
        transfers=data["transfers"],
        totals=data["totals"],
    )


def statement_csv(found: statements.Statement) -> str:
    return statements.statement_csv(found)


def pay_due(
    sessions: Sessions,
    provider: PaymentProvider,
    *,
    now: datetime | None = None,
    return_window: timedelta = timedelta(days=30),
) -> PayoutRun:
    """Send the transfers that are due and make the reversals that are due (the worker's
    step; ``buybutton payees pay``)."""
    return payouts.send_due(sessions, payouts_of(provider), now=now, return_window=return_window)


def rotate_statement_key(sessions: Sessions, payee_id: int) -> str:
    with write_session(sessions) as session:
        return payees.rotate_statement_key(session, payee_id).statement_key


def statement_key_of(sessions: Sessions, payee_id: int) -> str:
    """The key of the payee's own page (``/payee/{key}``): onboarding returns there."""
    with read_session(sessions) as session:
        return payees.get_payee(session, payee_id).statement_key


def payee_id_by_key(sessions: Sessions, key: str) -> int:
    with read_session(sessions) as session:
        payee = payees.by_statement_key(session, key)
        if payee is None:
            raise NotFound()
        return payee.id
