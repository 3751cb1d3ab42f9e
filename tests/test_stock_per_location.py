"""Issue 15, items 1 and 4 and "Concurrency": stock per location, the migration that moves
the old stock to MAIN, routing (ship from store), the lines' locations through payment and
refund, and per-location flash sales on each backend."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db import alembic_config, make_engine, migrate, write_session
from buybutton_server.db.models import Location, OrderLine, StockLevel
from buybutton_server.domain import inventory, locations, refunds, routing
from buybutton_server.domain.routing import Unfilled, Want
from tests.conftest import GOOD_CARD, SHOPPER, add_product, attempt_key, orders, path_of, product


def add_location(
    sessions: sessionmaker[Session], code: str, *, ships: bool, priority: int = 100
) -> int:
    with write_session(sessions) as session:
        fields = {"name": code.title(), "kind": "store", "ships": ships, "priority": priority}
        return locations.create_location(session, code, {**fields, "pickup_enabled": True}).id


def stock_at(sessions: sessionmaker[Session], code: str, sku: str, on_hand: int) -> None:
    with write_session(sessions) as session:
        locations.set_stock_at(session, code, sku, on_hand)


def level(sessions: sessionmaker[Session], code: str, sku: str = "MUG-01") -> tuple[int, int]:
    with sessions() as session:
        found = {lv.location: lv for lv in locations.levels_of(session, product(sessions, sku).id)}
        return (found[code].on_hand, found[code].reserved) if code in found else (0, 0)


def buy(client: TestClient, url: str) -> int:
    path = path_of(url)
    client.cookies.delete("bb_bought")
    page = client.get(path)
    answer = client.post(
        path,
        data={"attempt": attempt_key(page.text), **SHOPPER, **GOOD_CARD},
        follow_redirects=False,
    )
    return answer.status_code


# -- the migration ----------------------------------------------------------------------------


def test_migration_moves_each_products_stock_to_main(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    command.upgrade(alembic_config(url), "0024")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO products (sku, title, description, image_url, price_amount, currency,"
            " on_hand, reserved, requires_shipping, active, created_at, updated_at) VALUES"
            " ('OLD-1', 'Old', '', '', 100, 'USD', 7, 2, 1, 1, CURRENT_TIMESTAMP,"
            " CURRENT_TIMESTAMP)"
        )
    engine.dispose()
    migrate(url)
    engine = make_engine(url)
    assert "on_hand" not in {c["name"] for c in inspect(engine).get_columns("products")}
    factory = sessionmaker(engine)
    with factory() as session:
        [row] = session.execute(
            select(Location.code, StockLevel.on_hand, StockLevel.reserved).join(
                Location, Location.id == StockLevel.location_id
            )
        ).all()
        assert tuple(row) == ("MAIN", 7, 2)
    assert (product(factory, "OLD-1").on_hand, product(factory, "OLD-1").reserved) == (7, 2)
    engine.dispose()


# -- routing rules (no database) ---------------------------------------------------------------


def plan(wanted: dict[int, int], stock: dict[int, dict[int, int]], priority: dict[int, int]):  # type: ignore[no-untyped-def]
    levels = {
        product_id: {
            loc: routing._Level(loc, available, (priority[loc], loc))
            for loc, available in by_location.items()
        }
        for product_id, by_location in stock.items()
    }
    wants = {p: Want(p, q, f"SKU-{p}", f"Product {p}") for p, q in wanted.items()}
    return routing.plan(wants, levels, sorted((priority[loc], loc) for loc in priority))


def test_the_whole_order_goes_to_the_first_location_that_can_fill_it() -> None:
    # Location 1 (priority 0) lacks product 11; 2 and 3 have both: 3 comes first by priority.
    stock = {10: {1: 5, 2: 5, 3: 5}, 11: {1: 0, 2: 5, 3: 5}}
    assert plan({10: 1, 11: 1}, stock, {1: 0, 2: 20, 3: 10}) == {10: 3, 11: 3}


def test_a_split_uses_the_fewest_locations() -> None:
    # Nobody has all four; 2 can send three of them (1, first by priority, only two): 2
    # takes those three, 1 the last.
    stock = {10: {1: 1, 2: 1}, 11: {2: 1}, 12: {2: 1}, 13: {1: 1}}
    wanted = {10: 1, 11: 1, 12: 1, 13: 1}
    assert plan(wanted, stock, {1: 0, 2: 5}) == {10: 2, 11: 2, 12: 2, 13: 1}


def test_a_product_no_single_location_can_fill_is_refused_by_name() -> None:
    stock = {10: {1: 2, 2: 2}}
    with pytest.raises(Unfilled) as refused:
        plan({10: 3}, stock, {1: 0, 2: 1})  # 4 in all, but a line is never split
    assert refused.value.available == 2 and "Product 10" in refused.value.message


def test_repeated_lines_are_summed(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, stock=3)
    mug = product(sessions).id
    with write_session(sessions) as session, pytest.raises(Unfilled):
        routing.reserve(session, [Want(mug, 2), Want(mug, 2)])
    with write_session(sessions) as session:
        assert routing.reserve(session, [Want(mug, 2), Want(mug, 1)]) == [1, 1]
    assert level(sessions, "MAIN") == (3, 3)


def test_at_a_chosen_location_every_line_or_a_refusal_naming_it(
    sessions: sessionmaker[Session],
) -> None:
    add_product(sessions, stock=5)
    add_product(sessions, sku="TEE-M", title="Linen tee", stock=5)
    store = add_location(sessions, "B", ships=False)
    stock_at(sessions, "B", "MUG-01", 2)
    mug, tee = product(sessions).id, product(sessions, "TEE-M").id
    with write_session(sessions) as session, pytest.raises(Unfilled) as refused:
        routing.reserve(
            session, [Want(mug, 1, "MUG-01", "Mug"), Want(tee, 1, "TEE-M", "Tee")], at=store
        )
    assert refused.value.message.startswith("Sorry, none of the Tee left at B")
    assert level(sessions, "B") == (2, 0)  # nothing held
    with write_session(sessions) as session:
        assert routing.reserve(session, [Want(mug, 2)], at=store) == [store]
    assert level(sessions, "B") == (2, 2) and level(sessions, "MAIN") == (5, 0)


# -- through the checkout ----------------------------------------------------------------------


def test_a_delivery_is_routed_taken_and_restocked_at_its_location(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=0)
    add_product(sessions, sku="TEE-M", title="Linen tee", stock=1)
    add_location(sessions, "STORE-A", ships=True, priority=5)
    add_location(sessions, "STORE-B", ships=False, priority=1)  # does not ship: never routed
    stock_at(sessions, "STORE-A", "MUG-01", 3)
    stock_at(sessions, "STORE-B", "MUG-01", 9)
    assert product(sessions).available == 3  # STORE-B does not sell online
    # One mug and one tee: MAIN has the tee, STORE-A the mugs: split in two.
    assert buy(client, bb.checkout_link(items=[("MUG-01", 2), ("TEE-M", 1)])) == 303
    [order] = orders(sessions, "paid")
    with sessions() as session:
        lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).all()
        where = {line.sku: session.get(Location, line.location_id).code for line in lines}  # type: ignore[union-attr]
    assert where == {"MUG-01": "STORE-A", "TEE-M": "MAIN"}
    assert level(sessions, "STORE-A") == (1, 0) and level(sessions, "STORE-B") == (9, 0)
    assert level(sessions, "MAIN", "TEE-M") == (0, 0)
    # A full refund with restock puts the units back where they came from.
    refunds.refund_order(sessions, client.app.state.payments, order.id)  # type: ignore[attr-defined]
    assert level(sessions, "STORE-A") == (3, 0) and level(sessions, "MAIN", "TEE-M") == (1, 0)


def test_a_line_nobody_can_fill_is_sold_out_naming_the_product(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=1)
    add_location(sessions, "STORE-A", ships=True)
    stock_at(sessions, "STORE-A", "MUG-01", 1)  # 2 in all, 1 at each
    add_product(sessions, sku="TEE-M", title="Linen tee", stock=5)
    path = path_of(bb.checkout_link(items=[("MUG-01", 2), ("TEE-M", 1)]))
    page = client.get(path)
    answer = client.post(path, data={"attempt": attempt_key(page.text), **SHOPPER, **GOOD_CARD})
    assert answer.status_code == 409 and "Stoneware Mug" in answer.text
    assert product(sessions).reserved == 0 and product(sessions, "TEE-M").reserved == 0
    assert orders(sessions) == []


def test_restock_without_a_location_goes_to_main(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, stock=1)
    with write_session(sessions) as session:
        assert inventory.restock(session, product(sessions).id, 2)
    assert level(sessions, "MAIN") == (3, 0)


# -- per-location flash sale -------------------------------------------------------------------


def test_ten_pickups_at_store_b_with_one_unit_one_wins_and_delivery_still_sells(
    sessions: sessionmaker[Session],
) -> None:
    add_product(sessions, stock=2)  # at MAIN, which ships
    store = add_location(sessions, "B", ships=False)
    stock_at(sessions, "B", "MUG-01", 1)
    mug = product(sessions).id
    results: list[str] = []
    barrier = threading.Barrier(12)

    def attempt(at: int | None) -> None:
        barrier.wait()
        try:
            with write_session(sessions) as session:
                where = routing.reserve(session, [Want(mug, 1, "MUG-01", "Mug")], at=at)
            results.append(f"ok {where[0]}")
        except Unfilled:
            results.append("short")
        except Exception as problem:
            results.append(f"error {problem!r}")

    threads = [threading.Thread(target=attempt, args=(store,)) for _ in range(10)]
    threads += [threading.Thread(target=attempt, args=(None,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [r for r in results if r.startswith("error")], results
    assert results.count(f"ok {store}") == 1 and results.count("short") == 9
    main_id = inventory_main(sessions)
    assert results.count(f"ok {main_id}") == 2
    assert level(sessions, "B") == (1, 1) and level(sessions, "MAIN") == (2, 2)
    # The derived total counts the locations that sell online (MAIN), B apart.
    mug_now = product(sessions)
    assert (mug_now.on_hand, mug_now.reserved, mug_now.available) == (2, 2, 0)


def inventory_main(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return inventory.main_location_id(session)
