"""Commissions across the network (issue 17): shares frozen at order time, the ledger, the
money moving through Stripe Connect (a recording HTTP client), statements."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server.db import write_session
from buybutton_server.db.models import (
    CommissionLine,
    Payee,
    Transfer,
    TransferReversal,
    WebhookEvent,
    utcnow,
)
from buybutton_server.domain import commissions, payees
from buybutton_server.domain.commissions import RuleSpec
from buybutton_server.domain.orders import (
    Shopper,
    fulfill_order,
    place_order,
    refund_order,
    settle_order,
)
from buybutton_server.errors import InvalidInput, ProductUnavailable
from buybutton_server.payments import TestPaymentProvider
from buybutton_server.payments.base import BalanceInsufficient, ChargeRequest
from buybutton_server.services import commissions as commission_service
from tests.conftest import add_product
from tests.test_connect_stripe import StripeRecorder, connect_provider

SHOPPER = Shopper(
    email="ana@example.com",
    name="Ana Lima",
    line1="12 Harbour Street",
    city="Porto",
    postal_code="4000-123",
    country="PT",
)


def network(sessions: sessionmaker[Session], *, b_ready: bool = True) -> dict[str, int]:
    """Store B sells the bag (20 % to the head office), store C the hat (15 %), Anna earns
    5 % of what her posts sell."""
    add_product(sessions, sku="BAG", title="Canvas Bag", price="50.00", stock=5)
    add_product(sessions, sku="HAT", title="Straw Hat", price="30.00", stock=5)
    ids = {}
    with write_session(sessions) as session:
        for code, kind, account in (
            ("store-b", "seller", "acct_b"),
            ("store-c", "seller", "acct_c"),
            ("anna", "creator", "acct_anna"),
        ):
            payee = payees.create_payee(session, code=code, name=code.title(), kind=kind)
            payee.stripe_account = account
            ready = b_ready or code != "store-b"
            payee.status = "active" if ready else "onboarding"
            payee.charges_enabled = payee.payouts_enabled = ready
            ids[code] = payee.id
        commissions.add_rule(session, ids["store-b"], RuleSpec(sku="BAG", percent_bp=2000))
        commissions.add_rule(session, ids["store-c"], RuleSpec(sku="HAT", percent_bp=1500))
        commissions.add_rule(session, ids["anna"], RuleSpec(percent_bp=500))
    return ids


def place(sessions: sessionmaker[Session], provider: str = "stripe", **link: object) -> int:
    order, created = place_order(
        sessions,
        link=CheckoutLink.for_items([("BAG", 1), ("HAT", 1)], **link),  # type: ignore[arg-type]
        quantity=1,
        shopper=SHOPPER,
        attempt_key=secrets.token_urlsafe(18),
        provider=provider,
        method="card",
        hold_for=timedelta(minutes=15),
    )
    assert created
    return order.id


def shares(sessions: sessionmaker[Session], order_id: int) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(
            select(Payee.code, CommissionLine.amount)
            .join(Payee, Payee.id == CommissionLine.payee_id)
            .where(CommissionLine.order_id == order_id)
        ).all()
    found: dict[str, int] = {}
    for code, amount in rows:
        found[code] = found.get(code, 0) + amount
    return found


def test_two_sellers_and_a_creator_through_stripe_connect(
    sessions: sessionmaker[Session],
) -> None:
    network(sessions)
    order_id = place(sessions, creator="anna")
    assert shares(sessions, order_id) == {"store-b": 4000, "store-c": 2550, "anna": 400}

    recorder = StripeRecorder()
    stripe = connect_provider(recorder)
    connect = commission_service.charge_params(sessions, order_id)
    group = connect["transfer_group"]
    assert connect == {"transfer_group": group} and group.startswith("order_BB-")
    result = stripe.charge(
        ChargeRequest(
            amount=8000,
            currency="USD",
            idempotency_key="attempt-1",
            method="card",
            details={"payment_method": "pm_card_visa"},
            connect=connect,
        )
    )
    order = settle_order(sessions, order_id, result)
    assert order.status == "paid"
    ledger = commission_service.order_ledger(sessions, order.number)
    assert ledger.platform["amount"] == 1050  # 8000 - 4000 - 2550 - 400
    assert {p["payee"]: p["net"]["amount"] for p in ledger.payees} == {
        "store-b": 4000,
        "store-c": 2550,
        "anna": 400,
    }

    # Nothing moves before fulfilment; the sellers on fulfilment; Anna after the window.
    assert commission_service.pay_due(sessions, stripe).sent == 0
    fulfill_order(sessions, order.number)
    assert commission_service.pay_due(sessions, stripe).sent == 2
    later = utcnow() + timedelta(days=31)
    assert commission_service.pay_due(sessions, stripe, now=later).sent == 1

    charges = recorder.posted("/v1/payment_intents")
    transfers = recorder.posted("/v1/transfers")
    assert len(charges) == 1 and charges[0].params["transfer_group"] == group
    assert "application_fee_amount" not in charges[0].params
    assert [(t.params["destination"], t.params["amount"]) for t in transfers] == [
        ("acct_b", "4000"),
        ("acct_c", "2550"),
        ("acct_anna", "400"),
    ]
    assert {t.params["transfer_group"] for t in transfers} == {group}
    assert {t.params["source_transaction"] for t in transfers} == {"ch_1"}
    assert len({t.idempotency_key for t in transfers}) == 3

    # A 40 % refund takes back exactly 40 % of each share and of the fee.
    refund_order(sessions, stripe, order_id, amount=3200)
    run = commission_service.pay_due(sessions, stripe, now=later)
    assert run.reversed == 3
    reversals = sorted(
        (c.path.split("/")[3], c.params["amount"])
        for c in recorder.calls
        if c.path.endswith("/reversals")
    )
    sent = {c.params["destination"]: c for c in transfers}
    assert {amount for _, amount in reversals} == {"1600", "1020", "160"}
    assert len(reversals) == 3 and all(r[0].startswith("tr_") for r in reversals)
    assert sent["acct_b"].params["amount"] == "4000"
    ledger = commission_service.order_ledger(sessions, order.number)
    assert ledger.platform["amount"] == 630  # 1050 - 420
    nets = {p["payee"]: p["net"]["amount"] for p in ledger.payees}
    assert nets == {"store-b": 2400, "store-c": 1530, "anna": 240}
    assert ledger.platform["amount"] + sum(nets.values()) == 8000 - 3200
    with sessions() as session:
        types = list(session.scalars(select(WebhookEvent.type)))
    assert types.count("transfer.created") == 3 and types.count("transfer.reversed") == 3


def test_rules_changed_later_never_touch_a_placed_order(sessions: sessionmaker[Session]) -> None:
    ids = network(sessions)
    order_id = place(sessions, "test")
    with write_session(sessions) as session:
        rule = commissions.rules_of(session, ids["store-b"])[0]
        commissions.update_rule(session, ids["store-b"], rule.id, RuleSpec(sku="BAG", percent_bp=0))
    assert shares(sessions, order_id) == {"store-b": 4000, "store-c": 2550}
    assert shares(sessions, place(sessions, "test"))["store-b"] == 5000


def test_a_creator_is_attributed_by_their_discount_code(sessions: sessionmaker[Session]) -> None:
    from buybutton_server.domain.discount_codes import CodeSpec, create_code

    ids = network(sessions)
    with write_session(sessions) as session:
        create_code(session, CodeSpec(code="ANNA10", title="Anna", kind="percent", percent_bp=1000))
        payees.set_discount_codes(session, session.get_one(Payee, ids["anna"]), ["anna10"])
    order_id = place(sessions, "test", codes=("ANNA10",))
    assert shares(sessions, order_id)["anna"] > 0


def test_a_seller_not_ready_falls_back_to_the_head_office_or_refuses(
    sessions: sessionmaker[Session],
) -> None:
    ids = network(sessions, b_ready=False)
    assert shares(sessions, place(sessions, "test")) == {"store-c": 2550}  # B's bag: head office
    with write_session(sessions) as session:
        payees.update_payee(session, ids["store-b"], unready="refuse")
    with pytest.raises(ProductUnavailable, match="Canvas Bag cannot be sold right now"):
        place(sessions, "test")


def test_a_rule_that_would_pay_out_more_than_the_line_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    ids = network(sessions)
    with write_session(sessions) as session:
        for spec in (
            RuleSpec(percent_bp=10_001),
            RuleSpec(sku="BAG", fixed_amount=5001, currency="USD"),
            RuleSpec(min_amount=10, max_amount=5, currency="USD"),
        ):
            with pytest.raises(InvalidInput):
                commissions.add_rule(session, ids["anna"], spec)


def test_a_reversal_the_payee_cannot_cover_is_owed_not_lost(
    sessions: sessionmaker[Session],
) -> None:
    class Broke(TestPaymentProvider):
        def reverse_transfer(self, reference: str, *, amount: int, idempotency_key: str) -> str:
            raise BalanceInsufficient()

    network(sessions)
    order_id = place(sessions, "test")
    provider = Broke()
    order = settle_order(sessions, order_id, TestPaymentProvider().charge(_wallet()))
    fulfill_order(sessions, order.number)
    assert commission_service.pay_due(sessions, provider).sent == 2
    refund_order(sessions, provider, order_id)  # all of it
    run = commission_service.pay_due(sessions, provider)
    assert run.owed == 2
    with sessions() as session:
        owed = {t.payee_id: t.owed_amount for t in session.scalars(select(Transfer))}
        states = set(session.scalars(select(TransferReversal.status)))
    assert sorted(owed.values()) == [2550, 4000] and states == {"owed"}
    # Asked again later: paid back, no longer owed.
    run = commission_service.pay_due(sessions, TestPaymentProvider())
    assert run.reversed == 2
    with sessions() as session:
        assert {t.owed_amount for t in session.scalars(select(Transfer))} == {0}
        assert {t.reversed_amount for t in session.scalars(select(Transfer))} == {4000, 2550}


def _wallet() -> ChargeRequest:
    return ChargeRequest(amount=8000, currency="USD", idempotency_key="w1", method="wallet")


def test_a_creators_statement_shows_the_sale_and_nothing_about_the_shopper(
    sessions: sessionmaker[Session],
) -> None:
    ids = network(sessions)
    order_id = place(sessions, "test", creator="anna")
    order = settle_order(sessions, order_id, TestPaymentProvider().charge(_wallet()))
    start, end = commission_service.period(None, None, now=utcnow() + timedelta(minutes=1))
    found = commission_service.statement(sessions, ids["anna"], start, end)
    answer = commission_service.statement_answer(found).model_dump_json()
    text = commission_service.statement_csv(found)
    for shown in (answer, text):
        assert order.number in shown and "BAG" in shown
        for private in ("ana@example.com", "Ana Lima", "Harbour", "Porto", "4000-123"):
            assert private not in shown
    assert "4.00" in text  # 400 minor units: 5 % of 80.00
