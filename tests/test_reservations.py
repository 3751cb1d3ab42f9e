"""Issue 15 item 3 (reserve online, pay in store): a reservation holds the units at its
store without a payment, staff of THAT store mark it paid (the units leave the shelf,
``order.paid``), and the sweeper releases it when the store's hold runs out
(``reservation.expired`` with the store). Refusals change nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import Order, WebhookEvent, utcnow
from buybutton_server.domain import locations, reservations
from buybutton_server.domain.orders import HoldLimits, release_expired
from buybutton_server.errors import Gone, InvalidInput, NotFound, RateLimited
from buybutton_server.payments.test_provider import TestPaymentProvider
from tests.conftest import add_product
from tests.test_pickup import add_store, level, place, stock_at


def events(sessions: sessionmaker[Session], kind: str) -> list[dict[str, Any]]:
    with sessions() as session:
        rows = session.scalars(select(WebhookEvent.payload).where(WebhookEvent.type == kind))
        return [json.loads(row)["data"] for row in rows]


def stores(sessions: sessionmaker[Session]) -> tuple[int, int]:
    add_product(sessions, stock=5)
    b = add_store(sessions, "B", lat=38.76, lng=-9.10, reservations_enabled=True,
                  reservation_hold_minutes=60)  # fmt: skip
    c = add_store(sessions, "C", lat=41.15, lng=-8.62, reservations_enabled=True)
    stock_at(sessions, "B", "MUG-01", 2)
    stock_at(sessions, "C", "MUG-01", 2)
    return b, c


def order_now(sessions: sessionmaker[Session], order_id: int) -> Order:
    with sessions() as session:
        found = session.get(Order, order_id)
        assert found is not None
        return found


def test_a_reservation_holds_the_units_at_the_store_without_paying(
    sessions: sessionmaker[Session],
) -> None:
    b, _ = stores(sessions)
    before = utcnow()
    order = place(sessions, reserve=True)
    assert (order.status, order.fulfilment_method, order.payment_provider) == (
        "reserved",
        "reserve",
        "in_store",
    )
    held = order_now(sessions, order.id).reserved_until
    assert held is not None
    held = held if held.tzinfo else held.replace(tzinfo=before.tzinfo)
    assert timedelta(minutes=59) < held - before < timedelta(minutes=61)  # B's hold: 60 min
    assert level(sessions, "B") == (2, 1)
    assert order_now(sessions, order.id).pickup_location_id == b


def test_staff_at_the_store_mark_it_paid_and_the_units_leave(
    sessions: sessionmaker[Session],
) -> None:
    b, _ = stores(sessions)
    order = place(sessions, reserve=True)
    with write_session(sessions) as session:
        assert reservations.mark_paid_in_store(session, order.id, b, "staff@b.example")
    paid = order_now(sessions, order.id)
    assert (paid.status, paid.paid_in_store_by) == ("paid", "staff@b.example")
    assert paid.paid_at is not None and paid.reserved_until is None
    assert level(sessions, "B") == (1, 0)
    assert [e["order"]["number"] for e in events(sessions, "order.paid")] == [order.number]
    with write_session(sessions) as session:  # a double tap changes nothing
        assert not reservations.mark_paid_in_store(session, order.id, b, "staff@b.example")
    assert level(sessions, "B") == (1, 0) and len(events(sessions, "order.paid")) == 1


def test_staff_of_another_store_cannot_mark_it_and_nothing_changes(
    sessions: sessionmaker[Session],
) -> None:
    _, c = stores(sessions)
    order = place(sessions, reserve=True)
    with pytest.raises(NotFound), write_session(sessions) as session:
        reservations.mark_paid_in_store(session, order.id, c, "staff@c.example")
    assert order_now(sessions, order.id).status == "reserved"
    assert level(sessions, "B") == (2, 1) and level(sessions, "C") == (2, 0)
    shipped = place(sessions, pickup_at=None)  # not a reservation at all
    with pytest.raises(NotFound), write_session(sessions) as session:
        reservations.mark_paid_in_store(session, shipped.id, c, "staff@c.example")


def test_the_hold_runs_out_the_sweeper_releases_it_and_paying_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    b, _ = stores(sessions)
    order = place(sessions, reserve=True)
    later = utcnow() + timedelta(minutes=61)
    with write_session(sessions) as session:  # past the deadline, not yet swept: refused
        session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(reserved_until=utcnow() - timedelta(minutes=1))
        )
    with pytest.raises(Gone) as refused, write_session(sessions) as session:
        reservations.mark_paid_in_store(session, order.id, b, "staff@b.example")
    assert "expired" in refused.value.message
    assert release_expired(sessions, TestPaymentProvider(), now=later) == 1
    gone = order_now(sessions, order.id)
    assert (gone.status, gone.failure_code) == ("canceled", "reservation_expired")
    assert level(sessions, "B") == (2, 0)
    [expired] = events(sessions, "reservation.expired")
    assert expired["location"] == {"code": "B", "name": "Store B"}
    assert expired["order"]["number"] == order.number
    assert [e["reason"] for e in events(sessions, "order.canceled")] == ["expired"]
    with pytest.raises(Gone), write_session(sessions) as session:
        reservations.mark_paid_in_store(session, order.id, b, "staff@b.example")
    assert release_expired(sessions, TestPaymentProvider(), now=later) == 0  # once only


def test_a_store_that_takes_no_reservations_refuses_one(sessions: sessionmaker[Session]) -> None:
    stores(sessions)
    add_store(sessions, "E", lat=38.7, lng=-9.1)
    stock_at(sessions, "E", "MUG-01", 1)
    with pytest.raises(InvalidInput) as refused:
        place(sessions, pickup_at="E", reserve=True)
    assert "does not take reservations" in refused.value.message
    assert level(sessions, "E") == (1, 0)
    with pytest.raises(InvalidInput):
        place(sessions, pickup_at=None, reserve=True)


def test_reservations_count_against_the_hold_caps(sessions: sessionmaker[Session]) -> None:
    """A reservation holds stock without a payment: one client cannot hoard a store."""
    stores(sessions)
    from buybutton.tokens import CheckoutLink
    from buybutton_server.domain.orders import Choice, place_order
    from tests.test_pickup import SHOPPER

    limits = HoldLimits(client="c1", link="l1", per_client=1)

    def reserve(key: str) -> None:
        place_order(
            sessions,
            link=CheckoutLink(sku="MUG-01"),
            quantity=1,
            shopper=SHOPPER,
            attempt_key=key,
            provider="test",
            method="card",
            hold_for=timedelta(minutes=15),
            limits=limits,
            choice=Choice(pickup="B", reserve=True),
        )

    reserve("first-attempt-key-0001")
    with pytest.raises(RateLimited):
        reserve("second-attempt-key-002")
    assert level(sessions, "B") == (2, 1)
    with write_session(sessions) as session:
        assert locations.require_location(session, "B").reservations_enabled


def test_a_sale_that_takes_a_store_low_says_so_with_the_store(
    sessions: sessionmaker[Session],
) -> None:
    b, _ = stores(sessions)
    stock_at(sessions, "B", "MUG-01", 6)  # 6 available: one sale takes it to LOW_STOCK (5)
    order = place(sessions, reserve=True)
    with write_session(sessions) as session:
        reservations.mark_paid_in_store(session, order.id, b, "staff@b.example")
    [low] = [e for e in events(sessions, "stock.low") if "location" in e]
    assert low == {
        "sku": "MUG-01",
        "available": 5,
        "on_hand": 5,
        "location": {"code": "B", "name": "Store B"},
    }
