"""Stock hoarding (issue 11, item 2): one client starting checkouts it never finishes.

The review's attack: one IP started 10 card payments that stopped at 3-D Secure
(``requires_action``), each for 99 units, and held 990 of 1,000 units for 15 minutes (longer,
for payments ``processing``), so the product looked sold out. Now the link's quantity is
binding unless it signs a range, no order takes more than the product's ``max_per_order``,
one client (and one link) can keep only so many checkouts unfinished, a payment waiting on
the shopper's bank holds its stock for minutes, and ``processing`` holds end at a ceiling.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import Order, utcnow
from buybutton_server.domain.orders import release_expired
from buybutton_server.payments import ChargeRequest, ChargeResult, TestPaymentProvider
from tests.conftest import (
    BASE_URL,
    GOOD_CARD,
    SHOPPER,
    add_product,
    attempt_key,
    orders,
    path_of,
    product,
)

JSON = {"Accept": "application/json"}
STOCK = 1000


class ThreeDSecure(TestPaymentProvider):
    """Every card payment stops at 3-D Secure, as 4000 0000 0000 3220 does at Stripe, and
    the provider keeps saying so; the wallet pays at once."""

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if request.method == "wallet":
            return super().charge(request)
        reference = "pi_" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:20]
        return ChargeResult(
            status="requires_action", reference=reference, client_secret=reference + "_secret"
        )

    def status(self, reference: str) -> Any:
        return "requires_action"


class Processing(ThreeDSecure):
    def status(self, reference: str) -> Any:
        return "processing"


class ClientFromHeader:
    """Each request comes from the address in ``X-Test-Client`` (many clients, one app)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            address = headers.get(b"x-test-client", b"203.0.113.9").decode()
            scope = {**scope, "client": (address, 40000)}
        await self.app(scope, receive, send)


@pytest.fixture
def shop(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, payments=ThreeDSecure())
    with TestClient(ClientFromHeader(app), base_url=BASE_URL) as client:
        yield client


def attempt(client: TestClient, path: str, quantity: int, address: str, **form: str) -> Any:
    key = attempt_key(client.get(path).text)
    return client.post(
        path,
        headers={**JSON, "X-Test-Client": address},
        data={"attempt": key, "quantity": str(quantity), **SHOPPER, **GOOD_CARD, **form},
    )


def held(sessions: sessionmaker[Session]) -> int:
    return product(sessions).reserved


def test_one_client_cannot_hold_the_stock_with_unfinished_3ds(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session], settings: Settings
) -> None:
    add_product(sessions, stock=STOCK)
    # The card snippet's link lets the shopper pick 1-10; a plain link sells its quantity.
    [card] = re.findall(r'href="http://shop\.test(/c/[^"]+)"', bb.card_snippet("MUG-01"))
    plain = path_of(bb.checkout_link("MUG-01"))
    # The attack: 99 units a try, from one address, ten times, never finishing 3-D Secure.
    refused = [attempt(shop, plain, 99, "198.51.100.8"), attempt(shop, card, 99, "198.51.100.8")]
    assert [a.status_code for a in refused] == [422, 422]  # the link's 1; at most 10 an order
    assert held(sessions) == 0
    answers = [attempt(shop, card, 10, "198.51.100.7") for _ in range(10)]
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * 3 + [429] * 7, statuses
    assert answers[0].json()["status"] == "requires_action"
    assert "checkouts waiting for payment" in answers[-1].json()["error"]["message"]
    # Before: 990 of 1,000 held. Now: 3 checkouts of at most 10.
    assert held(sessions) == 30
    # Rotating addresses inside one IPv6 /64 is still one client.
    for n in range(3):
        assert attempt(shop, card, 10, f"2001:db8:5:6::{n + 1}").status_code == 200
    assert attempt(shop, card, 10, "2001:db8:5:6::99").status_code == 429
    assert held(sessions) == 60
    # Another shopper still buys.
    buyer = attempt(shop, plain, 1, "192.0.2.44", method="wallet")
    assert buyer.status_code == 200 and buyer.json()["status"] == "paid"
    # 3-D Secure holds for minutes, not the 15 of a reservation; the sweeper then gives the
    # stock back (the provider still says requires_action: the payment is canceled there).
    pending = orders(sessions, "pending")
    hold = timedelta(seconds=settings.action_hold_seconds)
    assert all(o.reserved_until is not None for o in pending)
    assert hold < timedelta(seconds=settings.reservation_seconds)
    later = utcnow() + hold + timedelta(seconds=1)
    assert release_expired(sessions, ThreeDSecure(), now=later) == len(pending) == 6
    assert held(sessions) == 0 and product(sessions).on_hand == STOCK - 1


def test_the_hold_for_3ds_is_short(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session], settings: Settings
) -> None:
    add_product(sessions, stock=5)
    before = utcnow()
    assert attempt(shop, path_of(bb.checkout_link("MUG-01")), 1, "192.0.2.1").status_code == 200
    [order] = orders(sessions, "pending")
    until = order.reserved_until
    assert until is not None
    until = until if until.tzinfo else until.replace(tzinfo=before.tzinfo)
    seconds = (until - before).total_seconds()
    assert settings.action_hold_seconds - 5 <= seconds <= settings.action_hold_seconds + 5


def test_a_link_caps_its_unfinished_checkouts(
    settings: Settings, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    from dataclasses import replace

    add_product(sessions, stock=STOCK)
    app = create_app(replace(settings, pending_per_link=4), payments=ThreeDSecure())
    path = path_of(bb.checkout_link("MUG-01", max_quantity=10))
    with TestClient(ClientFromHeader(app), base_url=BASE_URL) as shop:
        statuses = [attempt(shop, path, 10, f"192.0.2.{n}").status_code for n in range(1, 7)]
        assert statuses == [200] * 4 + [429] * 2
        # Another link to the same product is not held up by this one.
        other = path_of(bb.checkout_link("MUG-01", source="newsletter"))
        assert attempt(shop, other, 1, "192.0.2.50").status_code == 200
    assert held(sessions) == 41


def test_processing_holds_stop_at_a_ceiling(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    attempt(shop, path_of(bb.checkout_link("MUG-01")), 1, "192.0.2.1")
    provider, now = Processing(), utcnow()
    # Each sweep while the payment is processing gives it more time...
    for minutes in (6, 21, 36, 51):
        assert release_expired(sessions, provider, now=now + timedelta(minutes=minutes)) == 0
        assert held(sessions) == 1
    # ...but never past an hour from the order: then the stock goes back.
    assert release_expired(sessions, provider, now=now + timedelta(minutes=61)) == 1
    [order] = orders(sessions)
    assert (order.status, order.failure_code) == ("canceled", "payment_too_slow")
    assert held(sessions) == 0


def test_the_per_order_maximum_is_the_merchants(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=50, max_per_order=3)
    path = path_of(bb.checkout_link("MUG-01", max_quantity=20))
    page = client.get(path)
    assert '<option value="3"' in page.text and '<option value="4"' not in page.text
    key = attempt_key(page.text)
    refused = client.post(path, data={"attempt": key, "quantity": "4", **SHOPPER, **GOOD_CARD})
    assert refused.status_code == 422 and "At most 3 per order." in refused.text
    assert orders(sessions) == []
    with write_session(sessions) as session:
        assert session.query(Order).count() == 0
