"""The order's JSON (API and webhooks) says how it reaches the shopper: ``fulfilment`` with
the method, the pickup store (code and name) and the ready estimate shown at checkout."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db import write_session
from buybutton_server.db.models import Order as OrderRow
from buybutton_server.db.models import WebhookEvent
from buybutton_server.domain import locations
from buybutton_server.domain.outbox import order_json
from buybutton_server.services.orders import Order
from tests.conftest import GOOD_CARD, add_product, attempt_key, orders, path_of
from tests.test_locations import make_key
from tests.test_pickup import three_stores

CONTACT = {"email": "ana@example.com", "name": "Ana Lima"}
ADDRESS = {
    "line1": "Rua Augusta 1",
    "city": "Lisboa",
    "postal_code": "1100-048",
    "country": "PT",
}


def checkout(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session], **form: str
) -> str:
    path = path_of(bb.checkout_link("MUG-01"))
    html = client.get(path).text
    answer = client.post(
        path, data={"attempt": attempt_key(html), **CONTACT, **form}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    [order] = orders(sessions)
    return order.number


def stored(session: Session) -> OrderRow:
    return session.scalars(select(OrderRow)).one()


def paid_payloads(sessions: sessionmaker[Session], kind: str) -> list[dict]:  # type: ignore[type-arg]
    with sessions() as session:
        rows = session.scalars(select(WebhookEvent.payload).where(WebhookEvent.type == kind))
        return [json.loads(row)["data"]["order"] for row in rows]


def test_a_pickup_order_names_its_store_in_the_api_and_the_webhook(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    three_stores(sessions)
    number = checkout(client, bb, sessions, **GOOD_CARD, fulfilment="pickup:B")
    client.headers["Authorization"] = f"Bearer {make_key(sessions, 'read')}"
    shown = client.get(f"/api/v1/orders/{number}").json()
    fulfilment = shown["fulfilment"]
    assert fulfilment["method"] == "pickup"
    assert fulfilment["location"] == {"code": "B", "name": "Store B"}
    assert fulfilment["ready_estimate"].endswith("Z")
    [paid] = paid_payloads(sessions, "order.paid")
    assert paid["fulfilment"] == fulfilment  # the webhook (a Core row) says the same


def test_a_reservation_says_reserve(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    three_stores(sessions)
    with write_session(sessions) as session:
        locations.update_location(session, "B", {"reservations_enabled": True})
    number = checkout(client, bb, sessions, fulfilment="reserve:B")
    with sessions() as session:
        shown = Order.of(stored(session)).model_dump(mode="json")
    assert shown["number"] == number
    assert shown["fulfilment"]["method"] == "reserve"
    assert shown["fulfilment"]["location"]["code"] == "B"


def test_a_delivery_has_no_store(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    number = checkout(client, bb, sessions, **GOOD_CARD, **ADDRESS)
    with sessions() as session:
        shown = order_json(stored(session))
    assert shown["number"] == number
    assert shown["fulfilment"] == {"method": "shipping", "location": None, "ready_estimate": None}
    [paid] = paid_payloads(sessions, "order.paid")
    assert paid["fulfilment"]["method"] == "shipping" and paid["fulfilment"]["location"] is None


def test_stats_count_pickups_and_reservations_per_location(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    three_stores(sessions)
    with write_session(sessions) as session:
        locations.update_location(session, "B", {"reservations_enabled": True})
    checkout(client, bb, sessions, **GOOD_CARD, fulfilment="pickup:B")
    client.cookies.clear()  # another shopper
    path = path_of(bb.checkout_link("MUG-01", source="blog"))
    html = client.get(path).text
    form = {"attempt": attempt_key(html), **CONTACT, "fulfilment": "reserve:B"}
    assert client.post(path, data=form, follow_redirects=False).status_code == 303
    with sessions() as session:
        paid = session.scalars(select(OrderRow).where(OrderRow.status == "paid")).one()
        total, currency = paid.total_amount, paid.currency
    client.headers["Authorization"] = f"Bearer {make_key(sessions, 'read')}"
    answer = client.get("/api/v1/stats/locations")
    assert answer.status_code == 200, answer.text
    rows = {row["location"]: row for row in answer.json()["data"]}
    assert {"A", "B", "C"} <= set(rows) and "MAIN" not in rows  # every store, even idle
    b = rows["B"]
    assert (b["pickups"], b["reservations"], b["reservations_paid"]) == (1, 1, 0)
    assert b["revenue"] == [{"currency": currency, "amount": total}]
    assert rows["A"]["pickups"] == 0 and rows["A"]["revenue"] == []
    assert client.get("/api/v1/stats/locations?since=soon").status_code == 422
    client.headers["Authorization"] = "Bearer bb_wrong"
    assert client.get("/api/v1/stats/locations").status_code == 401
