"""Issue 15 item 2 (pick up in store): the pickup list (in stock first, then nearest, never
a store without stock as collectable), readiness by opening hours, the order placed for
pickup (no address, no shipping, the store's tax, stock held at the store), the refusals
(nothing written), and the per-location flash sale through place_order."""

from __future__ import annotations

import json
import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from buybutton.tokens import CheckoutLink
from buybutton_server.db import write_session
from buybutton_server.db.models import Order, WebhookEvent
from buybutton_server.domain import locations, pickup, routing
from buybutton_server.domain.orders import Choice, Shopper, place_order
from buybutton_server.errors import InvalidInput, NotFound, ShopError
from tests.conftest import add_product, product

LISBON = (38.7223, -9.1393)
SHOPPER = Shopper(
    email="ana@example.com", name="Ana Lima", line1="1 Rua", city="Porto", country="PT"
)


def add_store(
    sessions: sessionmaker[Session], code: str, *, lat: float, lng: float, **fields: Any
) -> int:
    values = {
        "name": f"Store {code}",
        "kind": "store",
        "ships": False,
        "pickup_enabled": True,
        "lat_e6": round(lat * 1e6),
        "lng_e6": round(lng * 1e6),
        "city": "Lisboa",
        "country": "PT",
        "time_zone": "Europe/Lisbon",
        **fields,
    }
    with write_session(sessions) as session:
        return locations.create_location(session, code, values).id


def stock_at(sessions: sessionmaker[Session], code: str, sku: str, on_hand: int) -> None:
    with write_session(sessions) as session:
        locations.set_stock_at(session, code, sku, on_hand)


def level(sessions: sessionmaker[Session], code: str, sku: str = "MUG-01") -> tuple[int, int]:
    with sessions() as session:
        found = {lv.location: lv for lv in locations.levels_of(session, product(sessions, sku).id)}
        return (found[code].on_hand, found[code].reserved) if code in found else (0, 0)


def three_stores(sessions: sessionmaker[Session]) -> None:
    """A near (no stock), B farther (the only stock), C farthest (none), D not pickup."""
    add_product(sessions, stock=5)  # at MAIN (ships, no pickup)
    add_store(sessions, "A", lat=38.7230, lng=-9.1400)  # ~0.1 km
    add_store(sessions, "B", lat=38.7600, lng=-9.1000)  # ~5 km
    add_store(sessions, "C", lat=41.1579, lng=-8.6291)  # Porto, ~270 km
    add_store(sessions, "D", lat=38.7224, lng=-9.1394, pickup_enabled=False)
    stock_at(sessions, "B", "MUG-01", 3)
    stock_at(sessions, "C", "MUG-01", 1)


def listing(
    sessions: sessionmaker[Session], wanted: list[tuple[str, int]], near: Any = LISBON
) -> list[pickup.PickupStore]:
    with sessions() as session:
        lines = [(product(sessions, sku).id, qty) for sku, qty in wanted]
        return pickup.pickup_locations(session, lines, near=near, now=datetime.now(UTC))


def place(
    sessions: sessionmaker[Session],
    *,
    items: tuple[tuple[str, int], ...] = (("MUG-01", 1),),
    pickup_at: str | None = "B",
    reserve: bool = False,
    attempt: str | None = None,
) -> Order:
    link = CheckoutLink(
        sku=items[0][0], quantity=items[0][1], items=items if len(items) > 1 else None
    )
    order, _ = place_order(
        sessions,
        link=link,
        quantity=items[0][1],
        shopper=SHOPPER,
        attempt_key=attempt or secrets.token_urlsafe(18),
        provider="test",
        method="card",
        hold_for=timedelta(minutes=15),
        choice=Choice(pickup=pickup_at, reserve=reserve),
    )
    return order


def count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# -- the list -----------------------------------------------------------------------------


def test_in_stock_stores_come_first_then_nearest_and_none_lies(
    sessions: sessionmaker[Session],
) -> None:
    three_stores(sessions)
    found = listing(sessions, [("MUG-01", 1)])
    assert [s.code for s in found] == ["B", "C", "A"]  # D offers no pickup: not listed
    assert [s.in_stock for s in found] == [True, True, False]
    # A is the nearest, but has nothing: never collectable; B is not hidden behind it.
    assert found[2].available == 0 and found[0].available == 3
    assert found[0].distance_km is not None and 4 < found[0].distance_km < 7


def test_repeated_lines_are_summed_in_the_stock_check(sessions: sessionmaker[Session]) -> None:
    three_stores(sessions)
    # Two lines of one mug each: C (1 unit) cannot fill both.
    found = {s.code: s for s in listing(sessions, [("MUG-01", 1), ("MUG-01", 1)])}
    assert found["B"].in_stock and not found["C"].in_stock


def test_without_a_position_the_list_is_by_city_then_name(
    sessions: sessionmaker[Session],
) -> None:
    three_stores(sessions)
    found = listing(sessions, [("MUG-01", 1)], near=None)
    assert [s.code for s in found] == ["B", "C", "A"]  # in stock first: B, C (by name)
    assert all(s.distance_km is None for s in found)
    assert [s.code for s in listing(sessions, [("MUG-01", 4)], near=None)] == ["A", "B", "C"]


def test_a_bad_position_is_refused() -> None:
    assert pickup.check_point("", "") is None
    for lat, lng in (("x", "1"), ("91", "0"), ("1", ""), ("nan", "1")):
        with pytest.raises(InvalidInput):
            pickup.check_point(lat, lng)


def test_ready_time_follows_opening_hours_in_the_store_time_zone() -> None:
    hours = json.dumps(
        {"mon": [["09:00", "13:00"], ["14:00", "19:00"]], "tue": [["10:00", "19:00"]]}
    )
    monday_noon = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # 12:00 in Lisbon (UTC+0)
    ready = pickup.ready_at(hours, "Europe/Lisbon", 120, monday_noon)
    # One hour before lunch, one after: ready at 15:00.
    assert ready == datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    assert pickup.ready_text(ready, monday_noon, "Europe/Lisbon") == "ready in 3 h"
    late = datetime(2026, 11, 30, 18, 30, tzinfo=UTC)
    ready = pickup.ready_at(hours, "Europe/Lisbon", 120, late)  # 30 min today, 90 tomorrow
    assert ready == datetime(2026, 12, 1, 11, 30, tzinfo=UTC)
    assert pickup.ready_text(ready, late, "Europe/Lisbon") == "ready tomorrow at 11:30"
    # Berlin is UTC+1 in winter: 08:00 UTC is 09:00 there.
    berlin = pickup.ready_at(json.dumps({"mon": [["09:00", "18:00"]]}), "Europe/Berlin", 60,
                             datetime(2026, 11, 30, 7, 0, tzinfo=UTC))  # fmt: skip
    assert berlin == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    # No opening hours given: always open.
    assert pickup.ready_at("{}", "UTC", 120, monday_noon) == monday_noon + timedelta(hours=2)
    assert pickup.ready_text(monday_noon + timedelta(hours=2), monday_noon, "UTC") == "ready in 2 h"


# -- placing a pickup order -------------------------------------------------------------------


def test_a_pickup_order_has_no_address_no_shipping_and_holds_stock_at_the_store(
    sessions: sessionmaker[Session],
) -> None:
    three_stores(sessions)
    with write_session(sessions) as session:  # a shop that ships for a fee
        from buybutton_server.db.models import ShopProfile

        shop = session.get(ShopProfile, 1)
        if shop is not None:
            shop.collect_tax = True
            shop.country = "PT"
    order = place(sessions)
    assert order.fulfilment_method == "pickup" and order.status == "pending"
    assert order.shipping_amount == 0 and order.ship_line1 is None
    assert order.shipping_title == "Pick up at Store B"
    assert order.pickup_ready_at is not None
    with sessions() as session:
        stored = session.get(Order, order.id)
        assert stored is not None and stored.pickup_location_id is not None
        assert {line.location_id for line in stored.lines} == {stored.pickup_location_id}
    assert level(sessions, "B") == (3, 1) and level(sessions, "MAIN") == (5, 0)


@pytest.mark.parametrize(
    ("code", "setup", "error", "words"),
    [
        ("A", None, routing.Unfilled, "left at Store A"),
        ("D", None, InvalidInput, "does not offer pickup"),
        ("B", {"active": False}, InvalidInput, "is closed"),
        ("ZZ", None, NotFound, "not one of ours"),
        ("MAIN", None, InvalidInput, "does not offer pickup"),
    ],
)
def test_a_store_that_cannot_hand_it_over_is_refused_and_nothing_is_written(
    sessions: sessionmaker[Session],
    code: str,
    setup: dict[str, Any] | None,
    error: type[ShopError],
    words: str,
) -> None:
    three_stores(sessions)
    if setup:
        with write_session(sessions) as session:
            locations.update_location(session, code, setup)
    with pytest.raises(error) as refused:
        place(sessions, pickup_at=code)
    assert words in refused.value.message
    assert count(sessions, Order) == 0 and count(sessions, WebhookEvent) == 0
    assert level(sessions, "B") == (3, 0) and level(sessions, "A") == (0, 0)


def test_a_multi_item_pickup_needs_every_line_at_the_store(
    sessions: sessionmaker[Session],
) -> None:
    three_stores(sessions)
    add_product(sessions, sku="BEANS", title="Beans", stock=9)  # at MAIN only
    with pytest.raises(routing.Unfilled) as refused:
        place(sessions, items=(("MUG-01", 1), ("BEANS", 1)))
    assert "Beans" in refused.value.message and "Store B" in refused.value.message
    assert count(sessions, Order) == 0 and level(sessions, "B") == (3, 0)


# -- per-location flash sale ----------------------------------------------------------------


def test_ten_pickup_checkouts_at_b_with_one_unit_one_wins_and_delivery_still_sells(
    sessions: sessionmaker[Session],
) -> None:
    add_product(sessions, stock=2)  # MAIN ships
    add_store(sessions, "B", lat=38.76, lng=-9.10)
    stock_at(sessions, "B", "MUG-01", 1)
    results: list[str] = []
    barrier = threading.Barrier(12)

    def attempt(where: str | None) -> None:
        barrier.wait()
        try:
            order = place(sessions, pickup_at=where)
            results.append(f"ok {order.fulfilment_method}")
        except routing.Unfilled:
            results.append("short")
        except Exception as problem:
            results.append(f"error {problem!r}")

    threads = [threading.Thread(target=attempt, args=("B",)) for _ in range(10)]
    threads += [threading.Thread(target=attempt, args=(None,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [r for r in results if r.startswith("error")], results
    assert results.count("ok pickup") == 1 and results.count("short") == 9
    assert results.count("ok shipping") == 2
    assert level(sessions, "B") == (1, 1) and level(sessions, "MAIN") == (2, 2)
    assert count(sessions, Order) == 3
