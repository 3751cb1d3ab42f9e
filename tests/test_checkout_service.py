"""``services.checkout`` on its own: one payment attempt from plain values to an Outcome."""

from __future__ import annotations

import ast
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server.domain.orders import Shopper, place_order
from buybutton_server.errors import NotFound, PaymentUnavailable, RateLimited
from buybutton_server.payments import ChargeRequest, ChargeResult, TestPaymentProvider
from buybutton_server.services import checkout, order_pages
from buybutton_server.services.checkout import PaymentForm, Problem
from tests.conftest import DECLINED_CARD, GOOD_CARD, SHOPPER, add_product, orders, product

ROOT = Path(__file__).resolve().parents[1]
HOLD = timedelta(minutes=15)


def form(**changes: Any) -> PaymentForm:
    values: dict[str, Any] = {
        "link": CheckoutLink(sku="MUG-01", max_quantity=10),  # the shopper picks 1-10
        "quantity": 1,
        "attempt_key": secrets.token_urlsafe(18),
        "method": "card",
        "details": SHOPPER,
        "payment_details": GOOD_CARD,
    }
    return PaymentForm(**{**values, **changes})


def pay(sessions: sessionmaker[Session], attempt: PaymentForm, provider: Any = None) -> Any:
    return checkout.pay(sessions, provider or TestPaymentProvider(), attempt, hold_for=HOLD)


def test_a_good_card_pays_and_takes_the_stock(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, stock=3)
    outcome = pay(sessions, form(quantity=2))
    assert outcome.problem is None and outcome.order is not None
    assert outcome.order.status == "paid" and outcome.client_secret is None
    assert outcome.values["email"] == "ana@example.com"
    assert (product(sessions).on_hand, product(sessions).reserved) == (1, 0)


def test_a_repeated_attempt_key_answers_with_the_first_order(
    sessions: sessionmaker[Session],
) -> None:
    add_product(sessions, stock=3)
    attempt = form()
    first, again = pay(sessions, attempt), pay(sessions, attempt)
    assert first.order == again.order
    assert len(orders(sessions)) == 1 and product(sessions).on_hand == 2


def test_problems_the_page_shows_write_nothing(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, stock=3)
    incomplete = pay(sessions, form(attempt_key="short"))
    assert (incomplete.problem, incomplete.code) == (Problem.INCOMPLETE_FORM, "incomplete_form")
    invalid = pay(sessions, form(details={"email": "not-an-email", "name": " Ana   Lima "}))
    assert invalid.problem is Problem.INVALID_FIELDS
    assert set(invalid.errors) == {"email", "country"}  # the country's rules come next
    in_us = pay(sessions, form(details={"email": "ana@example.com", "country": "US"}))
    assert set(in_us.errors) == {"name", "line1", "city", "region", "postal_code"}
    assert invalid.values["name"] == "Ana Lima"  # white space collapsed
    assert orders(sessions) == []


def test_a_decline_fails_the_order_and_releases_the_stock(
    sessions: sessionmaker[Session],
) -> None:
    add_product(sessions, stock=3)
    outcome = pay(sessions, form(payment_details=DECLINED_CARD))
    assert outcome.problem is Problem.PAYMENT_FAILED and outcome.code == "card_declined"
    assert outcome.order is not None and outcome.order.status == "failed"
    assert (product(sessions).on_hand, product(sessions).reserved) == (3, 0)


def test_too_few_left_says_how_many(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, stock=2)
    outcome = pay(sessions, form(quantity=3))
    assert outcome.problem is Problem.NOT_ENOUGH_STOCK
    assert outcome.product.available == 2 and "Only 2 left" in (outcome.alert or "")
    assert orders(sessions) == []


def test_the_wallet_fills_in_what_the_shopper_did_not_type(
    sessions: sessionmaker[Session],
) -> None:
    add_product(sessions)
    outcome = pay(sessions, form(method="wallet", details={}, payment_details={}))
    assert outcome.order is not None and outcome.order.status == "paid"
    assert outcome.values["email"] == "wallet.shopper@example.com"


class Unreachable(TestPaymentProvider):
    def charge(self, request: ChargeRequest) -> ChargeResult:
        raise PaymentUnavailable()


def test_an_unreachable_provider_releases_the_order(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, stock=2)
    with pytest.raises(PaymentUnavailable):
        pay(sessions, form(), Unreachable())
    [order] = orders(sessions)
    assert (order.status, order.failure_code) == ("failed", "provider_unavailable")
    assert product(sessions).reserved == 0


def test_payment_attempts_are_limited(sessions: sessionmaker[Session]) -> None:
    def attempt() -> None:
        checkout.limit_payment_attempts(
            sessions, client="10.0.0.1", subject="token", per_client=(2, 60), per_subject=None
        )

    attempt()
    attempt()
    with pytest.raises(RateLimited):
        attempt()


def test_abandoning_settles_from_the_provider(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, stock=1)
    order, _ = place_order(
        sessions,
        link=CheckoutLink(sku="MUG-01"),
        quantity=1,
        shopper=Shopper(email="a@b.co", name="A"),
        attempt_key="a" * 20,
        provider="test",
        method="card",
        hold_for=HOLD,
    )
    assert order_pages.abandon(sessions, TestPaymentProvider(), order.public_id) == "canceled"
    assert product(sessions).reserved == 0
    with pytest.raises(NotFound):
        order_pages.abandon(sessions, TestPaymentProvider(), "A" * 22)


def test_the_order_page_reads_a_plain_view(sessions: sessionmaker[Session]) -> None:
    add_product(sessions)
    paid = pay(sessions, form()).order
    view = order_pages.find_order(sessions, paid.public_id)
    assert view is not None and view.number == paid.number
    assert [(line.sku, line.quantity) for line in view.lines] == [("MUG-01", 1)]
    assert order_pages.find_order(sessions, "../../etc") is None


@pytest.mark.parametrize("module", ["server/views/checkout.py", "server/views/webhooks.py"])
def test_views_reach_no_database_and_no_provider_module(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    forbidden = {"sqlalchemy", "buybutton_server.db", "buybutton_server.db.models"}
    assert not imported & forbidden
    assert not {m for m in imported if m and m.startswith("buybutton_server.payments.stripe")}
