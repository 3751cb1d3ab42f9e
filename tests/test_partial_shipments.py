"""Partial shipments (issue 14 item 3): some units of some lines in one parcel with its own
tracking, through the API and ``buybutton orders fulfil --line``; the parcel that ships the
last unit fulfils the order; nothing ships twice."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.cli import main
from buybutton_server.db import write_session
from buybutton_server.db.models import MailMessage, Order, OrderLine, Shipment, WebhookEvent
from buybutton_server.domain.api_keys import create_key
from buybutton_server.domain.shipments import ship_lines
from buybutton_server.errors import FulfillRefused
from tests.conftest import GOOD_CARD, SHOPPER, add_product, attempt_key, path_of
from tests.test_tracking import cli_env  # noqa: F401  (a fixture)


@pytest.fixture
def writer(sessions: sessionmaker[Session]) -> str:
    with write_session(sessions) as session:
        return create_key(session, "write", "test")[1]


def buy_two_lines(client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]) -> str:
    add_product(sessions)
    add_product(sessions, sku="TEE-M", title="Tee, M", price="20.00")
    path = path_of(bb.checkout_link(items=[("MUG-01", 3), ("TEE-M", 1)]))
    page = client.get(path)
    client.post(path, data={"attempt": attempt_key(page.text), **SHOPPER, **GOOD_CARD})
    with sessions() as session:
        order = session.scalars(select(Order).order_by(Order.id.desc())).first()
        assert order is not None and order.status == "paid"
        return order.number


def events(sessions: sessionmaker[Session], kind: str) -> list[dict]:
    with sessions() as session:
        rows = session.scalars(
            select(WebhookEvent.payload).where(WebhookEvent.type == kind).order_by(WebhookEvent.id)
        )
        return [json.loads(row)["data"] for row in rows]


def shipped(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return dict(session.execute(select(OrderLine.sku, OrderLine.shipped_quantity)).all())


def test_parcels_ship_units_until_the_order_is_fulfilled(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session], writer: str
) -> None:
    number = buy_two_lines(client, bb, sessions)
    auth = {"Authorization": f"Bearer {writer}"}
    first = {"carrier": "DHL", "tracking_number": "D1", "lines": [{"sku": "MUG-01", "quantity": 2}]}
    answer = client.post(f"/api/v1/orders/{number}/fulfill", json=first, headers=auth)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["fulfilled_at"] is None and body["tracking"]["number"] == "D1"
    assert {line["sku"]: line["shipped_quantity"] for line in body["lines"]} == {
        "MUG-01": 2,
        "TEE-M": 0,
    }
    partial = events(sessions, "order.partially_fulfilled")
    assert [p["shipment"]["lines"] for p in partial] == [[{"sku": "MUG-01", "quantity": 2}]]
    assert events(sessions, "order.fulfilled") == []

    too_many = {"lines": [{"sku": "MUG-01", "quantity": 2}]}
    refused = client.post(f"/api/v1/orders/{number}/fulfill", json=too_many, headers=auth)
    assert refused.status_code == 409
    assert "only 1 of MUG-01 left" in refused.json()["error"]["message"]
    unknown = {"lines": [{"sku": "NOPE", "quantity": 1}]}
    answer = client.post(f"/api/v1/orders/{number}/fulfill", json=unknown, headers=auth)
    assert answer.status_code == 422
    assert shipped(sessions) == {"MUG-01": 2, "TEE-M": 0}, "refusals ship nothing"

    both = [{"sku": "MUG-01", "quantity": 1}, {"sku": "TEE-M", "quantity": 1}]
    rest = {"carrier": "UPS", "tracking_number": "U2", "lines": both}
    done = client.post(f"/api/v1/orders/{number}/fulfill", json=rest, headers=auth).json()
    assert done["fulfilled_at"] and done["tracking"]["number"] == "U2"
    fulfilled = events(sessions, "order.fulfilled")
    assert len(fulfilled) == 1 and fulfilled[0]["shipment"]["tracking_number"] == "U2"
    with sessions() as session:
        assert session.scalar(select(Shipment.id).where(Shipment.tracking_number == "U2"))
        kinds = session.scalars(select(MailMessage.kind).where(MailMessage.kind == "shipped"))
        assert len(list(kinds)) == 2, "one shipped email per parcel"
    late = client.post(f"/api/v1/orders/{number}/fulfill", json=first, headers=auth)
    assert late.status_code == 409, "a fulfilled order ships nothing more"


def test_two_clerks_shipping_the_last_unit_ship_it_once(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    number = buy_two_lines(client, bb, sessions)
    ship_lines(sessions, number, [("MUG-01", 2)])
    outcomes: list[str] = []

    def clerk() -> None:
        try:
            ship_lines(sessions, number, [("MUG-01", 1)])
            outcomes.append("shipped")
        except FulfillRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=clerk) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "refused", "refused", "shipped"]
    assert shipped(sessions) == {"MUG-01": 3, "TEE-M": 0}


def test_fulfilling_the_whole_order_records_the_rest_as_one_parcel(
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    writer: str,
    cli_env: None,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    number = buy_two_lines(client, bb, sessions)
    assert main(["orders", "fulfil", number, "--line", "TEE-M:1", "--tracking", "P1"]) == 0
    assert f"{number} partly shipped" in capsys.readouterr().out
    assert main(["orders", "fulfil", number, "--line", "TEE-M"]) == 1
    assert "SKU:QUANTITY" in capsys.readouterr().err
    assert main(["orders", "fulfil", number, "--carrier", "DHL", "--tracking", "P2"]) == 0
    assert f"{number} fulfilled" in capsys.readouterr().out
    assert shipped(sessions) == {"MUG-01": 3, "TEE-M": 1}
    with sessions() as session:
        parcels = session.scalars(select(Shipment).order_by(Shipment.id)).all()
        assert [(p.tracking_number, [(line.quantity) for line in p.lines]) for p in parcels] == [
            ("P1", [1]),
            ("P2", [3]),
        ]
