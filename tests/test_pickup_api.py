"""``GET /api/v1/products/{sku}/pickup-locations``: the same list the checkout shows, in two
queries whatever the number of stores (1,000 here), and refusals for bad positions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server.db import write_session
from buybutton_server.db.models import Location, StockLevel, utcnow
from buybutton_server.services import pickup as pickup_service
from tests.conftest import product
from tests.test_locations import make_key
from tests.test_pickup import three_stores


@pytest.fixture
def api(client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    client.headers["Authorization"] = f"Bearer {make_key(sessions, 'read')}"
    return client


def test_the_api_answers_the_pickup_list(api: TestClient, sessions: sessionmaker[Session]) -> None:
    three_stores(sessions)
    answer = api.get("/api/v1/products/MUG-01/pickup-locations?lat=38.7223&lng=-9.1393")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(s["code"], s["in_stock"]) for s in body["data"]] == [
        ("B", True),
        ("C", True),
        ("A", False),
    ]
    first = body["data"][0]
    assert first["ready_text"] == "ready in 2 h" and first["available"] == 3
    assert first["ready_at"].endswith("Z") and first["distance_km"] > 4
    two = api.get("/api/v1/products/MUG-01/pickup-locations?quantity=2").json()["data"]
    assert [(s["code"], s["in_stock"]) for s in two] == [("B", True), ("A", False), ("C", False)]


@pytest.mark.parametrize(
    "query", ["lat=91&lng=0", "lat=1", "lng=2", "lat=x&lng=1", "quantity=0", "quantity=x"]
)
def test_a_bad_query_is_refused(
    api: TestClient, sessions: sessionmaker[Session], query: str
) -> None:
    three_stores(sessions)
    answer = api.get(f"/api/v1/products/MUG-01/pickup-locations?{query}")
    assert answer.status_code == 422, answer.text


def test_an_unknown_product_is_404_and_no_key_is_401(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    three_stores(sessions)
    assert api.get("/api/v1/products/NOPE/pickup-locations").status_code == 404
    del api.headers["Authorization"]
    assert api.get("/api/v1/products/MUG-01/pickup-locations").status_code == 401


@pytest.fixture
def statements(sessions: sessionmaker[Session]) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = sessions.kw["bind"]
    assert isinstance(engine, Engine)

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_a_thousand_stores_take_one_query(
    sessions: sessionmaker[Session], statements: list[str]
) -> None:
    three_stores(sessions)
    mug = product(sessions).id
    now = utcnow()
    rows = [
        {"code": f"S{n:04d}", "name": f"Store {n}", "kind": "store", "pickup_enabled": True,
         "ships": False, "accepts_returns": False, "active": True, "lat_e6": 38_000_000 + n * 1000,
         "lng_e6": -9_000_000, "created_at": now, "updated_at": now}
        for n in range(1000)
    ]  # fmt: skip
    with write_session(sessions) as session:
        session.execute(insert(Location), rows)
        ids = session.query(Location.id).filter(Location.code.like("S%")).all()
        levels = [
            {
                "product_id": mug,
                "location_id": i,
                "on_hand": n % 3,
                "reserved": 0,
                "updated_at": now,
            }
            for n, (i,) in enumerate(ids)
        ]
        session.execute(insert(StockLevel), levels)
    statements.clear()
    query = pickup_service.PickupQuery(lat=38.5, lng=-9.0, quantity=2, limit=1000)
    found = pickup_service.product_pickup(sessions, "MUG-01", query)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2, selects  # the product, then the list (one join)
    assert "LIMIT" in selects[1].upper()  # ranked and cut in the database
    assert len(found.data) == 1000  # the limit (of 1,003)
    flags = [s.in_stock for s in found.data]
    assert flags == sorted(flags, reverse=True)  # every in-stock store before the others
    stocked = [s.distance_km for s in found.data if s.in_stock]
    assert stocked == sorted(stocked)  # nearest first among them
