"""Prices per currency at checkout (issue 16, item 3): the link's currency if every line has
a price in it, else the shopper's locale territory's, else the product's own; the page, the
quote, the order, the charge and the webhook all in it; never a converted price."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db import write_session
from buybutton_server.db.models import OrderLine, WebhookEvent
from buybutton_server.domain import price_lists, quoting
from buybutton_server.domain.catalog import require_product
from buybutton_server.errors import InvalidInput
from buybutton_server.payments.base import ChargeRequest, ChargeResult
from buybutton_server.services import discounts, shipping
from buybutton_server.services.discounts import DiscountCodeCreate
from tests.conftest import GOOD_CARD, add_product, attempt_key, orders, path_of

CONTACT = {"email": "ana@example.com", "name": "Ana Lima"}
US = {
    "country": "US",
    "line1": "1 Main St",
    "city": "Austin",
    "region": "TX",
    "postal_code": "73301",
}
DE = {"country": "DE", "line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117"}


@pytest.fixture
def mug(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """MUG-01 at EUR 24.00, with a list price of USD 27.00; the shop ships anywhere free."""
    add_product(sessions, sku="MUG-01", title="Stoneware Mug", price="24.00", currency="EUR")
    with write_session(sessions) as session:
        price_lists.set_price(require_product(session, "MUG-01"), "USD", 2700)
    return sessions


@pytest.fixture
def charges(client: TestClient) -> list[ChargeRequest]:
    """Every charge the test provider is asked for."""
    provider = client.app.state.payments  # type: ignore[attr-defined]
    seen: list[ChargeRequest] = []
    original = provider.charge

    def charge(request: ChargeRequest) -> ChargeResult:
        seen.append(request)
        return original(request)  # type: ignore[no-any-return]

    provider.charge = charge
    return seen


def quote(client: TestClient, path: str, **headers: str) -> Any:
    answer = client.post(path + "/quote", data={}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def pay(client: TestClient, path: str, html: str, **form: str) -> Any:
    data = {"attempt": attempt_key(html), **CONTACT, **US, **GOOD_CARD, **form}
    return client.post(path, data=data, follow_redirects=False)


def test_the_links_currency_is_shown_charged_and_announced(
    client: TestClient, bb: BuyButton, mug: sessionmaker[Session], charges: list[ChargeRequest]
) -> None:
    path = path_of(bb.checkout_link("MUG-01", currency="USD"))
    page = client.get(path)
    assert page.status_code == 200
    assert "$27.00" in page.text and "€" not in page.text
    assert 'name="shown_currency" value="USD"' in page.text
    data = quote(client, path)
    assert data["currency"] == "USD" and data["totals"]["total"]["amount"] == 2700
    paid = pay(client, path, page.text, shown_total="2700", shown_currency="USD")
    assert paid.status_code == 303, paid.text
    [order] = orders(mug)
    assert (order.currency, order.total_amount, order.status) == ("USD", 2700, "paid")
    [charge] = charges
    assert (charge.amount, charge.currency) == (2700, "USD")  # the total shown, charged
    with mug() as session:
        payload = session.scalars(
            select(WebhookEvent.payload).where(WebhookEvent.type == "order.paid")
        ).one()
        assert session.scalars(select(OrderLine.unit_amount)).all() == [2700]
    sent = json.loads(payload)["data"]["order"]
    assert sent["total"]["currency"] == "USD" and sent["total"]["amount"] == 2700


@pytest.mark.parametrize(
    ("accept_language", "currency", "shown"),
    [("en-US", "USD", "$27.00"), ("de-DE", "EUR", "24,00\N{NO-BREAK SPACE}€"), ("de", "EUR", "")],
)
def test_without_a_link_currency_the_locale_decides(
    client: TestClient,
    bb: BuyButton,
    mug: sessionmaker[Session],
    accept_language: str,
    currency: str,
    shown: str,
) -> None:
    path = path_of(bb.checkout_link("MUG-01"))
    page = client.get(path, headers={"Accept-Language": accept_language})
    assert f'name="shown_currency" value="{currency}"' in page.text
    assert shown in page.text
    assert quote(client, path, **{"Accept-Language": accept_language})["currency"] == currency


def test_a_currency_the_product_lacks_falls_back_to_its_own(
    client: TestClient, bb: BuyButton, mug: sessionmaker[Session], charges: list[ChargeRequest]
) -> None:
    path = path_of(bb.checkout_link("MUG-01", currency="JPY"))
    page = client.get(path, headers={"Accept-Language": "en-US"})  # JPY missing, then USD
    assert 'name="shown_currency" value="USD"' in page.text
    page = client.get(path)  # JPY missing, no territory: the product's own EUR
    assert 'name="shown_currency" value="EUR"' in page.text and "€24.00" in page.text
    assert pay(client, path, page.text, shown_total="2400").status_code == 303
    assert [(c.amount, c.currency) for c in charges] == [(2400, "EUR")]


def test_a_tampered_form_currency_is_a_changed_total(
    client: TestClient, bb: BuyButton, mug: sessionmaker[Session], charges: list[ChargeRequest]
) -> None:
    path = path_of(bb.checkout_link("MUG-01", currency="USD"))
    page = client.get(path)
    # The same number in another currency: never charged as it stands.
    answer = pay(client, path, page.text, shown_total="2700", shown_currency="EUR")
    assert answer.status_code == 409
    assert orders(mug) == [] and charges == []
    assert pay(client, path, page.text, shown_total="2700", shown_currency="USD").status_code == 303
    assert [(c.amount, c.currency) for c in charges] == [(2700, "USD")]


def test_zone_rates_and_fixed_codes_are_per_currency(
    client: TestClient, bb: BuyButton, mug: sessionmaker[Session]
) -> None:
    """The demo's zones have EUR rates only: a USD cart to Germany is not offered them (the
    address is refused as unserved), a EUR cart is. A fixed EUR code does not apply to a USD
    cart; a percent code does."""
    shipping.seed_demo(mug, "EUR")
    discounts.create_code(
        mug,
        DiscountCodeCreate(code="FIVEOFF", kind="fixed", amount=500, currency="EUR"),
    )
    discounts.create_code(mug, DiscountCodeCreate(code="TEN", kind="percent", percent_bp=1000))
    usd = path_of(bb.checkout_link("MUG-01", currency="USD"))
    eur = path_of(bb.checkout_link("MUG-01"))
    answer = client.post(usd + "/quote", data={**DE, "codes": "FIVEOFF TEN"}).json()
    assert answer["currency"] == "USD" and answer["shipping_options"] == []
    assert answer["blocked"] is True
    assert [m["code"] for m in answer["messages"] if m["severity"] == "error"] == [
        "no_shipping_to_country"
    ]
    assert [d["code"] for d in answer["discounts"]] == ["TEN"]  # FIVEOFF: EUR only
    assert any("EUR" in m["content"] for m in answer["messages"] if m["severity"] == "warning")
    answer = client.post(eur + "/quote", data={**DE, "codes": "FIVEOFF"}).json()
    assert answer["currency"] == "EUR" and answer["shipping_options"]
    assert answer["totals"]["discount"]["amount"] == 500
    page = client.get(usd)
    refused = pay(client, usd, page.text, **DE, shown_total="2700", shown_currency="USD")
    assert refused.status_code == 422 and orders(mug) == []


def test_cart_lines_price_from_the_list_and_refuse_a_missing_currency(
    mug: sessionmaker[Session],
) -> None:
    with mug() as session:
        [line] = quoting.cart_lines(session, [("MUG-01", 2)], currency="USD")
        assert (line.product.currency, line.product.unit_amount, line.subtotal) == (
            "USD",
            2700,
            5400,
        )
        [own] = quoting.cart_lines(session, [("MUG-01", 1)], currency="EUR")
        assert (own.product.currency, own.product.unit_amount) == ("EUR", 2400)
        with pytest.raises(InvalidInput) as refused:
            quoting.cart_lines(session, [("MUG-01", 1)], currency="JPY")
        assert refused.value.code == "currency_not_offered"
        pick = price_lists.checkout_currency
        assert pick(session, ["MUG-01"], asked="usd", region=None) == "USD"
        assert pick(session, ["MUG-01"], asked="JPY", region="US") == "USD"
        assert pick(session, ["MUG-01"], asked="JPY", region="CH") == "EUR"
        assert pick(session, ["MUG-01"], asked=None, region=None) == "EUR"


def test_locale_territories_map_to_their_currency() -> None:
    assert price_lists.territory_currency("CH") == "CHF"
    assert price_lists.territory_currency("GB") == "GBP"
    assert price_lists.territory_currency("DE") == "EUR"
    assert price_lists.territory_currency(None) is None
    assert price_lists.territory_currency("ZZZ") is None


def test_the_widgets_price_follows_the_same_rules(client: TestClient, mug: Any) -> None:
    url = "/api/public/products/MUG-01"
    assert client.get(url).json()["price"]["currency"] == "EUR"
    us = client.get(url, headers={"Accept-Language": "en-US"}).json()["price"]
    assert (us["currency"], us["amount"], us["formatted"]) == ("USD", 2700, "$27.00")
    assert client.get(url + "?currency=USD").json()["price"]["amount"] == 2700
    assert client.get(url + "?currency=JPY").json()["price"]["currency"] == "EUR"
