"""Screenshot pass s23 on the shopper pages: a reservation asks for no card, pickup and
reservations are named as such (not "Shipping"), the pickup receipt says where and when,
names and amounts keep their order in right-to-left pages, the unavailable delivery row
reads as unavailable, the receipt footer is tidy, and countries are named in the page's
language."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db import write_session
from buybutton_server.db.models import MailMessage
from buybutton_server.domain import locations
from buybutton_server.domain.mail import messages
from buybutton_server.domain.shop_profile import ShopIdentity
from tests.conftest import GOOD_CARD, attempt_key, orders, path_of
from tests.test_pickup_confirmation import CONTACT, store_b

SHOP = "Pour-Over Supply Co."
LEGAL = "Pour-Over Supply Co., Lda.\n12 Harbour Street\n4000-123 Porto\nPortugal"


def reservable(sessions: sessionmaker[Session]) -> None:
    store_b(sessions, reservations_enabled=True)


def receipt(sessions: sessionmaker[Session], shop: ShopIdentity | None = None) -> Any:
    with sessions() as session:
        row = session.scalars(select(MailMessage).where(MailMessage.kind == "receipt")).one()
        data = json.loads(row.data) if isinstance(row.data, str) else dict(row.data)
    return messages.render(
        "receipt",
        data,
        shop=shop or ShopIdentity(name=SHOP, legal_address=LEGAL),
        base_url="https://shop.example",
        secret_keys=["k" * 32],
        subject_line="Receipt",
    )


def test_a_reservation_hides_the_card_and_the_button_says_reserve(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    reservable(sessions)
    html = client.get(path_of(bb.checkout_link("MUG-01"))).text
    assert 'value="reserve:B"' in html
    # No-script pages can send a reservation: the card fields are not required then ...
    card_inputs = re.findall(r'<input name="card_[a-z]+"[^>]*>', html)
    assert len(card_inputs) == 3 and not any(" required" in i for i in card_inputs)
    # ... and the card, the wallet and "Pay" hide while it is chosen (checkout.css).
    assert '<fieldset class="card-fields unless-reserve">' in html
    assert 'class="wallet unless-reserve"' in html
    assert '<span class="when-reserve">Reserve — pay in store</span>' in html
    css = client.get("/static/checkout.css").text
    assert '[value^="reserve:"]:checked) .unless-reserve { display: none; }' in css
    js = client.get("/static/checkout.js").text
    assert "card-fields" in js  # the card fields are disabled (not validated) then


def test_a_page_without_reservations_keeps_the_card_fields_required(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    store_b(sessions)
    html = client.get(path_of(bb.checkout_link("MUG-01"))).text
    card_inputs = re.findall(r'<input name="card_[a-z]+"[^>]*>', html)
    assert len(card_inputs) == 3 and all(" required" in i for i in card_inputs)


def test_a_reservation_sent_with_empty_card_fields_is_placed_without_charging(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    reservable(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    html = client.get(path).text
    empty = {"card_number": "", "card_expiry": "", "card_cvc": "", "method": "card"}
    form = {"attempt": attempt_key(html), **CONTACT, **empty, "fulfilment": "reserve:B"}
    answer = client.post(path, data=form)
    assert answer.status_code == 200, answer.text
    [order] = orders(sessions)
    assert (order.status, order.payment_reference) == ("reserved", None)
    # The order page names the reservation, not "Shipping (...)".
    assert "Reserved at Store B" in answer.text and "Shipping (" not in answer.text


def test_a_pickup_is_named_pickup_on_the_page_and_the_receipt_says_where_and_when(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    store_b(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    html = client.get(path).text
    assert '<span class="when-pickup">Pickup</span>' in html  # the checkout summary's row
    form = {"attempt": attempt_key(html), **CONTACT, **GOOD_CARD, "fulfilment": "pickup:B"}
    page = client.post(path, data=form).text
    assert "Pickup (Store B)" in page and "Shipping (" not in page
    bodies = receipt(sessions)
    for body in (bodies.text, bodies.html):
        assert "Shipping" not in body
        assert "Pickup (Store B)" in body
        assert "Rua Garrett 12" in body and "1200-203 Lisboa" in body
        assert "ready in 2 h" in body
        assert "Ask at the till." in body


def test_the_receipt_footer_names_the_shop_once_with_its_address_on_lines(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    store_b(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    html = client.get(path).text
    form = {"attempt": attempt_key(html), **CONTACT, **GOOD_CARD, "fulfilment": "pickup:B"}
    client.post(path, data=form)
    bodies = receipt(sessions)
    assert f"{SHOP}, {SHOP}" not in bodies.text
    assert "Pour-Over Supply Co., Lda.\n12 Harbour Street\n4000-123 Porto\nPortugal" in (
        bodies.text
    )
    assert "<bdi>12 Harbour Street</bdi><br>" in bodies.html
    assert "<bdi>4000-123 Porto</bdi><br>" in bodies.html
    other = receipt(sessions, ShopIdentity(name="Kettle", legal_address="Beans Ltd\n1 Road"))
    assert "Kettle · Beans Ltd\n1 Road" in other.text


def test_names_titles_and_amounts_are_isolated_for_right_to_left_pages(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    store_b(sessions)
    path = path_of(bb.checkout_link("MUG-01"))
    html = client.get(path).text
    assert re.search(r'<h1 class="product-title"><bdi>[^<]+</bdi></h1>', html)
    assert re.search(r'<bdi id="pay-amount">', html)
    css = client.get("/static/checkout.css").text
    assert ".shop-name, .shop-foot-name" in css and "unicode-bidi: plaintext" in css
    assert "margin-inline-start" in css and ".store-distance { margin-left" not in css
    form = {"attempt": attempt_key(html), **CONTACT, **GOOD_CARD, "fulfilment": "pickup:B"}
    client.post(path, data=form)
    bodies = receipt(sessions)
    assert f"<bdi>{SHOP}</bdi>" in bodies.html or f"<bdi>{SHOP}, Lda.</bdi>" in bodies.html
    assert re.search(r"× <bdi>[^<]+</bdi>", bodies.html)


def test_the_unavailable_delivery_row_reads_as_unavailable(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    store_b(sessions)
    with write_session(sessions) as session:  # nothing left to ship from the warehouse
        locations.update_location(session, "B", {"reservations_enabled": True})
    from tests.test_pickup import stock_at

    stock_at(sessions, "MAIN", "MUG-01", 0)
    html = client.get(path_of(bb.checkout_link("MUG-01"))).text
    assert '<label class="option unavailable">' in html
    assert 'class="option-estimate option-unavailable" id="no-delivery">Not available' in html
    assert ".option.unavailable {" in client.get("/static/checkout.css").text


def test_the_order_page_names_the_country_in_the_page_language(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    from tests.conftest import add_product

    add_product(sessions, sku="DE-01", stock=5)
    path = path_of(bb.checkout_link("DE-01"))
    html = client.get(path, headers={"Accept-Language": "de"}).text
    address = {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}
    form = {"attempt": attempt_key(html), **CONTACT, **GOOD_CARD, **address}
    page = client.post(path, data=form, headers={"Accept-Language": "de"})
    assert page.status_code == 200, page.text
    assert "Deutschland" in page.text and "Germany" not in page.text
