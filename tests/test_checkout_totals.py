"""The hosted checkout prices the cart (issue 13): address, shipping options, codes, tax and
the total shown are the total charged; the quote endpoint; the test wallet's one tap."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db import write_session
from buybutton_server.domain.shop_profile import seed_demo_identity
from buybutton_server.services import discounts, shipping
from buybutton_server.services.discounts import DiscountCodeCreate
from tests.conftest import GOOD_CARD, add_product, attempt_key, orders, path_of, product

DE = {"country": "DE", "line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117"}
US_CA = {
    "country": "US",
    "region": "CA",
    "line1": "1 Market Street",
    "city": "San Francisco",
    "postal_code": "94105",
}
CONTACT = {"email": "ana@example.com", "name": "Ana Lima"}


@pytest.fixture
def demo(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """A demo-like shop: EUR prices with VAT included, sold from Portugal, the demo's zones
    and two codes."""
    add_product(sessions, sku="MUG-01", title="Stoneware Mug", price="24.00", currency="EUR")
    with write_session(sessions) as session:
        seed_demo_identity(session)  # PT, prices include tax, collects tax
    shipping.seed_demo(sessions, "EUR")
    discounts.create_code(
        sessions, DiscountCodeCreate(code="WELCOME10", kind="percent", percent_bp=1000)
    )
    discounts.create_code(sessions, DiscountCodeCreate(code="SHIPFREE", kind="free_shipping"))
    return sessions


def quote(client: TestClient, path: str, **fields: str) -> Any:
    answer = client.post(path + "/quote", data=fields)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    return answer.json()


def test_german_address_prices_shipping_and_included_vat(
    client: TestClient, bb: BuyButton, demo: sessionmaker[Session]
) -> None:
    path = path_of(bb.checkout_link("MUG-01"))
    data = quote(client, path, **DE)
    totals = data["totals"]
    # Standard to the EU is 4.90 (free over 50), Express 12.90: the cheapest is chosen.
    assert [o["price"]["amount"] for o in data["shipping_options"]] == [490, 1290]
    assert totals["shipping"]["amount"] == 490 and totals["total"]["amount"] == 2890
    # 19 % German VAT inside the prices: 2400 * 19/119 = 383.19 and 490 * 19/119 = 78.24.
    assert totals["tax"] == {
        "amount": 461,
        "formatted": "€4.61",
        "included": True,
        "label": "incl. VAT 19%",
    }
    assert data["lines"][0]["tax"]["rate_bp"] == 1900
    # The page (posted back by "Update", no script) shows the same quote.
    page = client.post(path, data={"attempt": "x" * 20, "apply": "1", **CONTACT, **DE})
    assert page.status_code == 200
    assert "incl. VAT 19%" in page.text and "€4.61" in page.text
    assert re.search(r'id="total">€28\.90<', page.text)
    assert 'name="shown_total" id="shown-total" value="2890"' in page.text
    assert re.search(r'value="rate-\d+" data-amount="490" checked', page.text)  # a radio each
    assert orders(demo) == []  # showing a price writes nothing


def test_california_gets_sales_tax_on_top(
    client: TestClient, bb: BuyButton, demo: sessionmaker[Session]
) -> None:
    path = path_of(bb.checkout_link("MUG-01"))
    data = quote(client, path, **US_CA)
    totals = data["totals"]
    assert totals["shipping"]["amount"] == 600  # US West
    assert totals["tax"]["included"] is False and totals["tax"]["amount"] == 174  # 7.25 %
    assert totals["total"]["amount"] == 2400 + 600 + 174
    # Paying with the total shown charges exactly it, and the order keeps every part.
    page = client.get(path)
    form = {"attempt": attempt_key(page.text), "shown_total": "3174", "quoted": "1"}
    paid = client.post(path, data={**form, **CONTACT, **US_CA, **GOOD_CARD})
    assert paid.status_code == 200 and "is paid" in paid.text
    [order] = orders(demo)
    assert (order.total_amount, order.tax_amount, order.shipping_amount) == (3174, 174, 600)
    assert (order.ship_country, order.ship_region, order.tax_included) == ("US", "CA", False)


def test_a_typed_code_is_a_discount_line_and_a_wrong_one_a_warning(
    client: TestClient, bb: BuyButton, demo: sessionmaker[Session]
) -> None:
    path = path_of(bb.checkout_link("MUG-01"))
    data = quote(client, path, codes="welcome10", **DE)
    assert data["totals"]["discount"]["amount"] == 240
    assert data["discounts"][0]["code"] == "WELCOME10"
    assert data["totals"]["total"]["amount"] == 2160 + 490
    page = client.post(path, data={"attempt": "x" * 20, "apply": "1", "codes": "welcome10", **DE})
    assert "\N{MINUS SIGN}€2.40" in page.text and 'value="welcome10"' in page.text

    wrong = quote(client, path, codes="NOPE", **DE)
    assert wrong["totals"]["discount"]["amount"] == 0 and wrong["blocked"] is False
    assert any(m["severity"] == "warning" for m in wrong["messages"])
    # Still payable: the code is named, nothing taken off, the total shown is charged.
    page = client.get(path)
    form = {"attempt": attempt_key(page.text), "codes": "NOPE", "shown_total": "2890"}
    paid = client.post(path, data={**form, **CONTACT, **DE, **GOOD_CARD}, follow_redirects=False)
    assert paid.status_code == 303
    assert orders(demo)[0].total_amount == 2890 and orders(demo)[0].discount_codes is None


def test_a_signed_code_is_applied_and_shown(
    client: TestClient, bb: BuyButton, demo: sessionmaker[Session]
) -> None:
    path = path_of(bb.checkout_link("MUG-01", codes=["SHIPFREE"]))
    data = quote(client, path, **DE)
    assert data["totals"]["shipping"]["amount"] == 0 and data["discounts"][0]["signed"]
    assert data["totals"]["total"]["amount"] == 2400


@pytest.mark.parametrize(
    ("country", "message"),
    [("Narnia", "We don't know the country"), ("BR", "We can't ship these items")],
)
def test_an_unknown_or_unserved_country_is_refused_and_nothing_reserved(
    client: TestClient, bb: BuyButton, demo: sessionmaker[Session], country: str, message: str
) -> None:
    path = path_of(bb.checkout_link("MUG-01"))
    page = client.get(path)
    form = {"attempt": attempt_key(page.text), "shown_total": "2400", **CONTACT, **GOOD_CARD}
    refused = client.post(path, data={**form, **DE, "country": country, "postal_code": "01000"})
    assert refused.status_code == 422 and message in html.unescape(refused.text)
    assert orders(demo) == [] and product(demo).reserved == 0
    if country == "BR":  # the quote says so too, and the page offers no payment
        data = quote(client, path, country="BR")
        assert data["blocked"] and data["messages"][0]["code"] == "no_shipping_to_country"
        shown = client.post(path, data={"attempt": "x" * 20, "apply": "1", "country": "BR"})
        assert re.search(r'id="pay-card"[^>]* disabled', shown.text)


def test_a_stale_total_is_shown_again_and_nothing_charged(
    client: TestClient, bb: BuyButton, demo: sessionmaker[Session]
) -> None:
    path = path_of(bb.checkout_link("MUG-01"))
    page = client.get(path)
    form = {"attempt": attempt_key(page.text), "shown_total": "2400", "quoted": "1"}
    stale = client.post(path, data={**form, **CONTACT, **DE, **GOOD_CARD})
    assert stale.status_code == 409
    assert "The total changed" in stale.text and re.search(r'id="total">€28\.90<', stale.text)
    assert 'id="shown-total" value="2890"' in stale.text
    assert orders(demo) == [] and product(demo).reserved == 0
    # A page that had not priced shipping yet (no script) says why the total grew.
    unpriced = {**form, "attempt": attempt_key(stale.text), "quoted": "0"}
    again = client.post(path, data={**unpriced, **CONTACT, **DE, **GOOD_CARD})
    assert again.status_code == 409 and "Shipping and tax for your address" in again.text


def test_test_wallet_pays_the_quoted_total_for_the_forms_country(
    client: TestClient, bb: BuyButton, demo: sessionmaker[Session]
) -> None:
    path = path_of(bb.checkout_link("MUG-01", codes=["WELCOME10"]))
    sheet = quote(client, path, country="DE", method="wallet")
    assert sheet["wallet"]["city"] == "Berlin" and sheet["wallet"]["postal_code"] == "10117"
    total = sheet["totals"]["total"]["amount"]
    page = client.get(path)
    form = {"attempt": attempt_key(page.text), "method": "wallet", "country": "DE"}
    paid = client.post(path, data={**form, "shown_total": str(total), "quoted": "1"})
    assert paid.status_code == 200 and "is paid" in paid.text
    [order] = orders(demo)
    parts = sheet["totals"]
    assert (order.total_amount, order.subtotal_amount, order.discount_amount) == (
        total,
        parts["subtotal"]["amount"],
        parts["discount"]["amount"],
    )
    assert (order.shipping_amount, order.tax_amount) == (
        parts["shipping"]["amount"],
        parts["tax"]["amount"],
    )
    assert (order.ship_country, order.ship_city, order.discount_codes) == (
        "DE",
        "Berlin",
        "WELCOME10",
    )
    us = quote(client, path, country="US", method="wallet")
    assert us["wallet"]["region"] == "CA" and us["totals"]["tax"]["included"] is False


def test_quantity_and_digital_carts_are_priced(
    client: TestClient, bb: BuyButton, demo: sessionmaker[Session]
) -> None:
    path = path_of(bb.checkout_link("MUG-01", max_quantity=5))
    assert quote(client, path, quantity="3", **DE)["totals"]["total"]["amount"] == 7200  # free
    add_product(
        demo,
        sku="EBOOK",
        title="Brew guide",
        price="10.00",
        currency="EUR",
        requires_shipping="false",
    )
    ebook = path_of(bb.checkout_link("EBOOK"))
    data = quote(client, ebook)  # no address: the shop's country (PT, 23 % included)
    assert data["ships"] is False and data["totals"]["tax"]["amount"] == 187
    assert "Shipping address" not in client.get(ebook).text


def test_the_quote_endpoint_refuses_nonsense_quietly(
    client: TestClient, bb: BuyButton, demo: sessionmaker[Session]
) -> None:
    path = path_of(bb.checkout_link("MUG-01"))
    for fields, status in (
        ({"quantity": "lots"}, 422),
        ({"quantity": "7"}, 422),  # the link sells one
        ({"country": "Narnia"}, 422),
    ):
        answer = client.post(path + "/quote", data=fields)
        assert answer.status_code == status, fields
        assert set(answer.json()["error"]) == {"code", "message"}
        assert answer.headers["cache-control"] == "no-store"
    forged = client.post("/c/not-a-token/quote", data={"country": "DE"})
    assert forged.status_code == 400 and "error" in forged.json()
    huge = client.post(path + "/quote", data={"codes": "A " * 5000, "country": "DE"})
    assert huge.status_code == 200 and len(huge.json()["messages"]) <= 10
    assert orders(demo) == []
