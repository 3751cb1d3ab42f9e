"""The pickup list ranked and cut in the database (issue 15, "< 20 ms with 1,000 stores"):
the rules survive the LIMIT (a lone far stocked store still comes first, nearest among the
stocked, a multi-product cart's ``available``), the planar order in SQL agrees with the
exact distance, positions across the antimeridian, and only the rows answered are read."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import Location, StockLevel, utcnow
from buybutton_server.domain import pickup
from tests.conftest import add_product, product
from tests.test_pickup import add_store, stock_at

LISBON = (38.7223, -9.1393)


def many_stores(sessions: sessionmaker[Session], count: int, *, seed: int = 7) -> list[int]:
    """``count`` stores scattered around Lisbon (up to ~3 degrees away), none with stock."""
    rng, now = random.Random(seed), utcnow()
    rows = [
        {"code": f"S{n:04d}", "name": f"Store {n}", "kind": "store", "pickup_enabled": True,
         "ships": False, "accepts_returns": False, "active": True, "city": f"City {n % 40}",
         "lat_e6": round((LISBON[0] + rng.uniform(-3, 3)) * 1e6),
         "lng_e6": round((LISBON[1] + rng.uniform(-3, 3)) * 1e6),
         "created_at": now, "updated_at": now}
        for n in range(count)
    ]  # fmt: skip
    with write_session(sessions) as session:
        session.execute(insert(Location), rows)
        return [i for (i,) in session.query(Location.id).filter(Location.code.like("S%"))]


def set_levels(sessions: sessionmaker[Session], product_id: int, levels: dict[int, int]) -> None:
    now = utcnow()
    with write_session(sessions) as session:
        session.execute(
            insert(StockLevel),
            [
                {"product_id": product_id, "location_id": location, "on_hand": units,
                 "reserved": 0, "updated_at": now}
                for location, units in levels.items()
            ],
        )  # fmt: skip


def listing(
    sessions: sessionmaker[Session], wanted: list[tuple[int, int]], **options: Any
) -> list[pickup.PickupStore]:
    with sessions() as session:
        return pickup.pickup_locations(session, wanted, now=datetime.now(UTC), **options)


def test_a_lone_far_stocked_store_comes_first_past_the_limit(
    sessions: sessionmaker[Session],
) -> None:
    add_product(sessions, stock=0)
    mug = product(sessions).id
    many_stores(sessions, 300)
    far = add_store(sessions, "FAR", lat=48.8566, lng=2.3522)  # Paris, ~1,450 km away
    set_levels(sessions, mug, {far: 2})
    found = listing(sessions, [(mug, 1)], near=LISBON, limit=20)
    assert len(found) == 20
    assert found[0].code == "FAR" and found[0].in_stock and found[0].available == 2
    assert not any(s.in_stock for s in found[1:])
    assert found[0].distance_km is not None and found[0].distance_km > 1000


def test_the_cut_matches_the_exact_order_of_the_whole_list(
    sessions: sessionmaker[Session],
) -> None:
    """The database orders by the planar approximation; the answer must be what sorting
    every store by the exact great-circle distance gives."""
    add_product(sessions, stock=0)
    mug = product(sessions).id
    ids = many_stores(sessions, 400)
    set_levels(sessions, mug, {i: n % 3 for n, i in enumerate(ids)})
    everything = listing(sessions, [(mug, 2)], near=LISBON)  # no limit: every store
    assert len(everything) == 400
    for limit in (1, 5, 20, 50):
        best = listing(sessions, [(mug, 2)], near=LISBON, limit=limit)
        assert [s.code for s in best] == [s.code for s in everything[:limit]]
    flags = [s.in_stock for s in everything]
    assert flags == sorted(flags, reverse=True) and flags.count(True) == sum(
        1 for n in range(400) if n % 3 == 2
    )
    for group in (True, False):
        away = [s.distance_km for s in everything if s.in_stock is group]
        assert away == sorted(a for a in away if a is not None)
    without = listing(sessions, [(mug, 2)], limit=20)  # no position: city, name
    assert [s.code for s in without] == [s.code for s in listing(sessions, [(mug, 2)])[:20]]


def test_a_cart_of_two_products_needs_both_and_counts_the_fewest(
    sessions: sessionmaker[Session],
) -> None:
    add_product(sessions, stock=0)
    add_product(sessions, sku="CUP-02", title="Cup", stock=0)
    mug, cup = product(sessions).id, product(sessions, "CUP-02").id
    add_store(sessions, "BOTH", lat=38.80, lng=-9.10)
    add_store(sessions, "ONE", lat=38.7230, lng=-9.1400)  # nearest, the mug only
    add_store(sessions, "SHORT", lat=38.75, lng=-9.12)  # both, too few cups
    for code, mugs, cups in (("BOTH", 7, 4), ("ONE", 9, 0), ("SHORT", 5, 1)):
        stock_at(sessions, code, "MUG-01", mugs)
        if cups:
            stock_at(sessions, code, "CUP-02", cups)
    found = listing(sessions, [(mug, 1), (cup, 2), (mug, 1)], near=LISBON, limit=2)
    assert [(s.code, s.in_stock, s.available) for s in found] == [
        ("BOTH", True, 2),  # 7 mugs / 2, 4 cups / 2: the fewest is 2
        ("ONE", False, 0),  # no cup at all
    ]
    short = {s.code: s for s in listing(sessions, [(mug, 2), (cup, 2)])}["SHORT"]
    assert not short.in_stock and short.available == 0


def test_the_nearest_across_the_antimeridian(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, stock=0)
    add_store(sessions, "EAST", lat=-17.0, lng=179.9)  # Fiji side, ~20 km away
    add_store(sessions, "WEST", lat=-17.0, lng=178.0)  # ~200 km away
    add_store(sessions, "NOWHERE", lat=-17.0, lng=0.0)
    found = listing(sessions, [(product(sessions).id, 1)], near=(-17.0, -179.9), limit=2)
    assert [s.code for s in found] == ["EAST", "WEST"]
    assert found[0].distance_km is not None and found[0].distance_km < 30


def test_one_query_cut_in_the_database(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, stock=0)
    mug = product(sessions).id
    ids = many_stores(sessions, 1000)
    set_levels(sessions, mug, {i: n % 3 for n, i in enumerate(ids)})
    statements: list[str] = []
    engine = sessions.kw["bind"]
    assert isinstance(engine, Engine)

    def grab(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with sessions() as session:
        event.listen(engine, "before_cursor_execute", grab)
        try:
            found = pickup.pickup_locations(
                session, [(mug, 1)], near=LISBON, now=datetime.now(UTC), limit=20
            )
        finally:
            event.remove(engine, "before_cursor_execute", grab)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1 and "LIMIT" in selects[0].upper()
    assert len(found) == 20 and all(s.in_stock for s in found)
