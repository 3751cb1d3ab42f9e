"""Issue 15, screenshot finding 2b: the order page after a pickup or a reservation shows
the store's name and address, when the order will be ready (the estimate, while it is
ahead) and, for a reservation, until when the store holds it; a reservation is not shown
as a failed payment."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db import write_session
from buybutton_server.domain import locations
from tests.conftest import GOOD_CARD, add_product, attempt_key, orders, path_of
from tests.test_pickup import add_store, stock_at

CONTACT = {"email": "ana@example.com", "name": "Ana Lima"}


def store_b(sessions: sessionmaker[Session], **fields: object) -> None:
    add_product(sessions, stock=5)
    add_store(
        sessions, "B", lat=38.76, lng=-9.10, line1="Rua Garrett 12", postal_code="1200-203",
        pickup_instructions="Ask at the till.", **fields,
    )  # fmt: skip
    stock_at(sessions, "B", "MUG-01", 3)


def order_page(client: TestClient, bb: BuyButton, choice: str, card: bool = True) -> str:
    path = path_of(bb.checkout_link("MUG-01"))
    html = client.get(path).text
    form = {"attempt": attempt_key(html), **CONTACT, "fulfilment": choice}
    answer = client.post(path, data={**form, **(GOOD_CARD if card else {})})
    assert answer.status_code == 200, answer.text
    return answer.text.replace("&#39;", "'")


def test_a_pickup_order_names_the_store_its_address_and_the_ready_estimate(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    store_b(sessions)
    html = order_page(client, bb, "pickup:B")
    assert "is paid" in html
    assert "Pick up at <strong>Store B</strong> — ready in 2 h" in html
    assert "Rua Garrett 12, 1200-203 Lisboa, Portugal" in html
    assert "Ask at the till." in html and "Held for you" not in html


def test_a_reservation_shows_the_store_and_how_long_it_is_held(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    store_b(sessions, reservations_enabled=True, reservation_hold_minutes=1440)
    html = order_page(client, bb, "reserve:B", card=False)
    assert "Payment not completed" not in html and "Nothing was charged" not in html
    assert "Reserve at Store B, pay in store." in html
    assert "Reserve at <strong>Store B</strong>" in html
    assert "Rua Garrett 12, 1200-203 Lisboa, Portugal" in html
    [order] = orders(sessions)
    assert order.reserved_until is not None
    until = order.reserved_until.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Lisbon"))
    assert f"Held for you until {until:%Y-%m-%d %H:%M}" in html


def test_a_delivery_order_has_no_pickup_part(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    store_b(sessions)
    with write_session(sessions) as session:
        locations.update_location(session, "B", {"pickup_enabled": False})
    path = path_of(bb.checkout_link("MUG-01"))
    html = client.get(path).text
    address = {"country": "PT", "city": "Porto", "postal_code": "4000-001", "line1": "1 Rua"}
    form = {"attempt": attempt_key(html), **CONTACT, **GOOD_CARD, **address}
    page = client.post(path, data=form).text
    assert "is paid" in page and 'id="order-pickup"' not in page
