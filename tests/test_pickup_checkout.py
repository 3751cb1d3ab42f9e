"""The hosted checkout with pick up in store: the page lists the stores (in stock first, a
store without stock never offered as a choice), a pickup is paid with no address and no
shipping, a reservation is placed without charging, and a store that cannot take it is
refused on the page with nothing written."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db import write_session
from buybutton_server.domain import locations
from tests.conftest import GOOD_CARD, attempt_key, orders, path_of
from tests.test_pickup import level, three_stores

CONTACT = {"email": "ana@example.com", "name": "Ana Lima"}


def open_page(client: TestClient, bb: BuyButton) -> tuple[str, str]:
    path = path_of(bb.checkout_link("MUG-01"))
    page = client.get(path)
    assert page.status_code == 200, page.text
    return path, page.text


def test_the_page_offers_the_stores_with_stock_and_names_the_others(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    three_stores(sessions)
    _, html = open_page(client, bb)
    choices = re.findall(r'name="fulfilment" value="([^"]+)"', html)
    assert choices == ["delivery", "pickup:B", "pickup:C"]  # A has none: not a choice
    assert "Pick up at Store B — ready in 2 h" in html
    assert "Store A, Lisboa: not in stock there" in html


def test_a_pickup_is_paid_without_an_address_or_shipping(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    three_stores(sessions)
    path, html = open_page(client, bb)
    form = {"attempt": attempt_key(html), **CONTACT, **GOOD_CARD, "fulfilment": "pickup:B"}
    answer = client.post(path, data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    [order] = orders(sessions)
    assert (order.status, order.fulfilment_method, order.shipping_amount) == ("paid", "pickup", 0)
    assert order.ship_line1 is None and order.ship_country is None
    assert level(sessions, "B") == (2, 0) and level(sessions, "MAIN") == (5, 0)


def test_a_reservation_is_placed_without_charging(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    three_stores(sessions)
    with write_session(sessions) as session:
        locations.update_location(session, "B", {"reservations_enabled": True})
    path, html = open_page(client, bb)
    assert 'value="reserve:B"' in html and 'value="reserve:C"' not in html
    form = {"attempt": attempt_key(html), **CONTACT, "fulfilment": "reserve:B"}
    answer = client.post(path, data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    [order] = orders(sessions)
    assert (order.status, order.payment_provider, order.payment_reference) == (
        "reserved",
        "in_store",
        None,
    )
    assert level(sessions, "B") == (3, 1)
    assert client.get(answer.headers["location"]).status_code == 200  # the order page


def test_a_store_that_cannot_take_it_is_refused_on_the_page(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    three_stores(sessions)
    path, html = open_page(client, bb)
    for choice, words, status in (
        ("pickup:A", "none of the Stoneware Mug left at Store A", 409),
        ("pickup:D", "Store D does not offer pickup", 422),
        ("reserve:B", "Store B does not take reservations", 422),
        ("pickup:NOPE", "not one of ours", 422),
    ):
        form = {"attempt": attempt_key(html), **CONTACT, **GOOD_CARD, "fulfilment": choice}
        answer = client.post(path, data=form, follow_redirects=False)
        assert answer.status_code == status, (choice, answer.status_code)
        assert words in answer.text.replace("&#39;", "'"), choice
    assert orders(sessions) == []
    assert level(sessions, "B") == (3, 0) and level(sessions, "A") == (0, 0)


def test_the_live_quote_prices_a_pickup_with_no_shipping(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    three_stores(sessions)
    path, _ = open_page(client, bb)
    answer = client.post(path + "/quote", data={"fulfilment": "pickup:B", "quantity": "1"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["totals"]["shipping"]["amount"] == 0
    assert [o["id"] for o in body["shipping_options"]] == ["pickup"]
