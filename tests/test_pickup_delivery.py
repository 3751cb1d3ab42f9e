"""Issue 15, screenshot finding 2a: a product stocked only at stores that do not ship must
not be offered for delivery (it would fail at payment). The checkout offers pickup only,
says delivery is not available, asks for no address, and the pickup is paid."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.domain.carts import Item
from buybutton_server.domain.catalog import ProductView
from buybutton_server.services.pickup import delivers
from tests.conftest import GOOD_CARD, add_product, attempt_key, orders, path_of
from tests.test_pickup import add_store, level, stock_at

CONTACT = {"email": "ana@example.com", "name": "Ana Lima"}


def only_at_store_b(sessions: sessionmaker[Session], *, online: int = 0) -> None:
    add_product(sessions, stock=online)  # at MAIN, the one location that ships
    add_store(sessions, "A", lat=38.7230, lng=-9.1400)
    add_store(sessions, "B", lat=38.7600, lng=-9.1000)
    stock_at(sessions, "B", "MUG-01", 3)


def choices(html: str) -> list[tuple[str, bool, bool]]:
    """(value, checked, disabled) of each fulfilment radio."""
    return [
        (value, " checked" in rest, " disabled" in rest)
        for value, rest in re.findall(r'name="fulfilment" value="([^"]+)"([^>]*)>', html)
    ]


def test_stock_only_at_stores_that_do_not_ship_offers_pickup_only(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    only_at_store_b(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    html = client.get(path).text
    assert choices(html) == [("delivery", False, True), ("pickup:B", True, False)]
    assert re.search(r"Deliver to my address\s*<small[^>]*>Not available</small>", html)
    assert "Shipping address" not in html and 'name="postal_code"' not in html
    form = {"attempt": attempt_key(html), **CONTACT, **GOOD_CARD, "fulfilment": "pickup:B"}
    answer = client.post(path, data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    [order] = orders(sessions)
    assert (order.status, order.fulfilment_method) == ("paid", "pickup")
    assert level(sessions, "B") == (2, 0)


def test_too_few_units_that_ship_for_the_quantity_offers_pickup_only(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    only_at_store_b(sessions, online=1)
    html = client.get(path_of(bb.checkout_link("MUG-01", quantity=2))).text
    assert choices(html) == [("delivery", False, True), ("pickup:B", True, False)]


def test_delivery_stays_offered_when_the_stock_that_ships_covers_it(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    only_at_store_b(sessions, online=2)
    html = client.get(path_of(bb.checkout_link("MUG-01", quantity=2))).text
    assert choices(html) == [("delivery", True, False), ("pickup:B", False, False)]
    assert "Not available" not in html and "Shipping address" in html


def view(pid: int, on_hand: int, reserved: int = 0) -> ProductView:
    return ProductView(
        id=pid, sku=f"P{pid}", title="P", description="", image_url="", price_amount=100,
        currency="EUR", on_hand=on_hand, reserved=reserved, requires_shipping=True,
        active=True, variant_group=None, variant_label=None, max_per_order=10,
    )  # fmt: skip


def test_delivers_sums_repeated_lines_of_a_cart() -> None:
    mug, cup = view(1, 3), view(2, 5, reserved=4)
    assert delivers(mug, 3) and not delivers(mug, 4)
    assert delivers(mug, 1, [Item(mug, 2), Item(cup, 1)])
    assert not delivers(mug, 1, [Item(mug, 2), Item(cup, 1), Item(mug, 2)])  # 4 mugs > 3
    assert not delivers(mug, 1, [Item(mug, 1), Item(cup, 2)])  # 1 cup available
