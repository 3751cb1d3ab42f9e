"""Payees and their commission rules through the API, the admin and the command line; their
connected accounts' onboarding and state (docs/commissions.md). The rules are the domain's
(:mod:`buybutton_server.domain.payees`, :mod:`~buybutton_server.domain.commissions`)."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from pydantic import Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from buybutton_server.db import Sessions, read_session, write_session
from buybutton_server.db import models as db
from buybutton_server.db.models import ProcessedEvent
from buybutton_server.domain import commissions, payees
from buybutton_server.domain.commissions import RuleSpec
from buybutton_server.errors import NotImplementedHere
from buybutton_server.payments.base import AccountEvent, PaymentProvider, PayoutProvider
from buybutton_server.services.api_types import Answer, Input, Timestamp, rule

Code = Annotated[str, Field(max_length=32), rule(payees.check_code)]
Name = Annotated[str, Field(max_length=payees.NAME_MAX), rule(payees.check_name)]
Amount = Annotated[int, Field(ge=0, le=10**12, description="minor units of currency")]


class PayeeCreate(Input):
    """A new payee: a seller (it may own locations, by code) or a creator (discount codes
    of their own attribute orders to them)."""

    code: Code
    name: Name
    kind: Literal["seller", "creator"]
    email: Annotated[str, Field(max_length=254)] | None = None
    unready: Literal["head_office", "refuse"] = "head_office"
    locations: list[Annotated[str, Field(max_length=32)]] = []
    discount_codes: list[Annotated[str, Field(max_length=32)]] = []


class PayeeUpdate(Input):
    """What changes (a field left out keeps its value). ``kind`` changes only while the
    payee has no rules; lists replace the payee's own."""

    name: Name | None = None
    kind: Literal["seller", "creator"] | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    unready: Literal["head_office", "refuse"] | None = None
    locations: list[Annotated[str, Field(max_length=32)]] | None = None
    discount_codes: list[Annotated[str, Field(max_length=32)]] | None = None


class RuleInput(Input):
    """A commission rule: ``percent_bp`` of the line (basis points: 1500 = 15 %) plus
    ``fixed_amount`` per unit, held within min..max; for a product (``sku``), a category
    (a variant group) or neither (the payee's default)."""

    sku: Annotated[str, Field(max_length=64)] | None = None
    category: Annotated[str, Field(max_length=64)] | None = None
    percent_bp: Annotated[int, Field(ge=0, le=10_000)] = 0
    fixed_amount: Amount | None = None
    min_amount: Amount | None = None
    max_amount: Amount | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None

    def spec(self) -> RuleSpec:
        return RuleSpec(**self.model_dump())


class Rule(Answer):
    id: int
    sku: str | None
    category: str | None
    percent_bp: int
    fixed_amount: int | None
    min_amount: int | None
    max_amount: int | None
    currency: str | None


class Payee(Answer):
    id: int
    code: str
    name: str
    kind: str
    email: str | None
    status: str
    stripe_account: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    unready: str
    locations: list[str]
    discount_codes: list[str]
    created_at: Timestamp | None
    rules: list[Rule]


class PayeeList(Answer):
    data: list[Payee]


class OnboardingLink(Answer):
    url: str
    status: str


class Deleted(Answer):
    deleted: bool


def _answer(session: Session, row: db.Payee) -> Payee:
    return Payee(
        **payees.payee_json(session, row),
        rules=[Rule(**commissions.rule_json(r)) for r in commissions.rules_of(session, row.id)],
    )


def payee_id_of(sessions: Sessions, ref: str) -> int:
    """The id of the payee ``ref`` names (its code, or its id)."""
    with read_session(sessions) as session:
        return payees.resolve(session, ref).id


def list_payees(sessions: Sessions) -> PayeeList:
    with read_session(sessions) as session:
        return PayeeList(data=[_answer(session, p) for p in payees.all_payees(session)])


def get_payee(sessions: Sessions, payee_id: int) -> Payee:
    with read_session(sessions) as session:
        return _answer(session, payees.get_payee(session, payee_id))


def create_payee(sessions: Sessions, body: PayeeCreate) -> Payee:
    with write_session(sessions) as session:
        row = payees.create_payee(
            session,
            code=body.code,
            name=body.name,
            kind=body.kind,
            email=body.email,
            unready=body.unready,
            locations=body.locations,
            codes=body.discount_codes,
        )
        return _answer(session, row)


def update_payee(sessions: Sessions, payee_id: int, body: PayeeUpdate) -> Payee:
    with write_session(sessions) as session:
        row = payees.update_payee(
            session,
            payee_id,
            name=body.name,
            kind=body.kind,
            email=body.email,
            unready=body.unready,
            locations=body.locations,
            codes=body.discount_codes,
        )
        return _answer(session, row)


def add_rule(sessions: Sessions, payee_id: int, body: RuleInput) -> Payee:
    with write_session(sessions) as session:
        commissions.add_rule(session, payee_id, body.spec())
        return _answer(session, payees.get_payee(session, payee_id))


def update_rule(sessions: Sessions, payee_id: int, rule_id: int, body: RuleInput) -> Payee:
    with write_session(sessions) as session:
        commissions.update_rule(session, payee_id, rule_id, body.spec())
        return _answer(session, payees.get_payee(session, payee_id))


def delete_rule(sessions: Sessions, payee_id: int, rule_id: int) -> Payee:
    with write_session(sessions) as session:
        commissions.delete_rule(session, payee_id, rule_id)
        return _answer(session, payees.get_payee(session, payee_id))


def payouts_of(provider: PaymentProvider) -> PayoutProvider:
    if not isinstance(provider, PayoutProvider):
        raise NotImplementedHere(f"The {provider.name} provider cannot pay payees.")
    return provider


def onboarding_link(
    sessions: Sessions,
    provider: PaymentProvider,
    payee_id: int,
    *,
    refresh_url: str,
    return_url: str,
) -> OnboardingLink:
    """A fresh onboarding link, made now (links expire within minutes, so never at page
    render): the payee's connected account is created first if it has none."""
    payouts = payouts_of(provider)
    with read_session(sessions) as session:
        payee = payees.get_payee(session, payee_id)
        account, email, kind, code = payee.stripe_account, payee.email, payee.kind, payee.code
    if account is None:
        account = payouts.create_account(
            email=email, kind=kind, idempotency_key=f"payee-{payee_id}-{code}"
        )
        with write_session(sessions) as session:
            payees.attach_account(session, payee_id, account)
    url = payouts.account_link(account, refresh_url=refresh_url, return_url=return_url)
    with read_session(sessions) as session:
        status = payees.get_payee(session, payee_id).status
    return OnboardingLink(url=url, status=status)


def refresh_account(sessions: Sessions, provider: PaymentProvider, payee_id: int) -> Payee:
    """Ask the provider for the payee's account now (on return from onboarding). A live
    read is the state as of when it was asked: an ``account.updated`` made before then and
    delivered later changes nothing."""
    payouts = payouts_of(provider)
    with read_session(sessions) as session:
        account = payees.get_payee(session, payee_id).stripe_account
    if account is not None:
        asked = int(time.time())
        state = payouts.account(account)
        with write_session(sessions) as session:
            payees.apply_account(session, state, created=asked)
    return get_payee(sessions, payee_id)


def apply_account_event(sessions: Sessions, provider: str, event: AccountEvent) -> bool:
    """Apply a verified ``account.updated`` once. Returns False for a duplicate. An event
    older than the state applied last is recorded and changes nothing (Stripe delivers in
    any order: :func:`payees.apply_account`)."""
    try:
        with write_session(sessions) as session:
            session.add(ProcessedEvent(provider=provider, event_id=event.id, type=event.type))
            session.flush()
            payees.apply_account(session, event.account, created=event.created)
    except IntegrityError:
        return False
    return True
