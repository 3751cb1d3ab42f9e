"""Odd decimals typed as money (review of issue 12, F3): ``1E+999999999``, ``NaN``, ten
thousand digits, Arabic-Indic digits, signs, spaces and grouping commas are refused with one
clear line on every path that reads an amount (the SDK's parser, the admin's refund, product
price and price list, discount codes, shipping rates, the API and the command line), never a
500 and never an expensive big-number computation."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.cli import main
from buybutton.money import parse_amount
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import DiscountCode, Order, ProductPrice, Refund, ShippingRate
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from buybutton_server.domain.api_keys import create_key
from buybutton_server.errors import InvalidInput
from buybutton_server.services import discounts, shipping
from tests.conftest import (
    BASE_URL,
    GOOD_CARD,
    SECRET,
    SHOPPER,
    add_product,
    attempt_key,
    path_of,
    product,
)

PASSWORD = "correct horse battery staple"
ODD = [
    "1E+999999999",
    "1e999999",
    "1e-999999",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "9" * 10_000,
    "1" + "0" * 30,
    "\u0661\u0662",  # ١٢, Arabic-Indic digits
    "\uff15",  # a full-width digit five
    "+5",
    "1 000",
    "1,50",
    "12.5.0",
    "0x10",
    "1_000",
]


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def one_line(message: str) -> bool:
    return "\n" not in message and len(message) < 200


# -- the parser (the SDK's, used by the server) ---------------------------------------------


@pytest.mark.parametrize("text", [*ODD, "-5", "", ".", "abc"])
def test_the_parser_refuses_anything_but_a_plain_decimal_quickly(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"^'.*' (is not|has more|is too|is longer)") as caught:
        parse_amount(text, "EUR")
    assert time.perf_counter() - started < 0.05
    assert one_line(str(caught.value))


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("24.90", "EUR", 2490),
        (" 24.9 ", "EUR", 2490),
        ("24.900", "EUR", 2490),
        (".5", "EUR", 50),
        ("0", "EUR", 0),
        ("1200", "JPY", 1200),
        ("1.005", "KWD", 1005),
        ("9999999999999999", "EUR", 999999999999999900),  # 18 significant digits in cents
    ],
)
def test_plain_decimals_still_parse(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == minor


def test_more_than_eighteen_significant_digits_is_too_large() -> None:
    with pytest.raises(ValueError, match="is too large"):
        parse_amount("99999999999999999", "EUR")  # 19 digits in cents
    assert parse_amount("000000000000000000000001", "EUR") == 100, "leading zeros are free"


# -- the admin ------------------------------------------------------------------------------


@pytest.fixture
def admin(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    with write_session(sessions) as session:
        create_admin(session, "owner@shop.example", PASSWORD, role="owner")
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        answer = client.post(
            "/admin/login",
            data={"email": "owner@shop.example", "password": PASSWORD},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        yield client


def field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    assert found is not None, f"no {name} field"
    return found[1]


def csrf(client: TestClient, path: str = "/admin/products") -> str:
    return field(client.get(path).text, "csrf")


@pytest.fixture
def paid_order(admin: TestClient, bb: BuyButton, sessions: sessionmaker[Session]) -> str:
    add_product(sessions, stock=50)
    path = path_of(bb.checkout_link("MUG-01"))
    page = admin.get(path)
    admin.post(path, data={"attempt": attempt_key(page.text), **SHOPPER, **GOOD_CARD})
    with sessions() as session:
        number = session.scalar(select(Order.number).order_by(Order.id.desc()).limit(1))
    assert number is not None
    return number


@pytest.mark.parametrize("amount", ODD)
def test_an_odd_refund_amount_is_a_422(
    admin: TestClient, paid_order: str, sessions: sessionmaker[Session], amount: str
) -> None:
    page = admin.get(f"/admin/orders/{paid_order}").text
    form = {"csrf": field(page, "csrf"), "once": field(page, "once"), "reason": "duplicate"}
    answer = admin.post(f"/admin/orders/{paid_order}/refund", data={**form, "amount": amount})
    assert answer.status_code == 422
    assert "Amount: " in answer.text and "give it in USD" in answer.text
    assert count(sessions, Refund) == 0


@pytest.mark.parametrize("price", ODD)
def test_an_odd_product_price_is_a_422(
    admin: TestClient, sessions: sessionmaker[Session], price: str
) -> None:
    add_product(sessions)
    new = {"sku": "TEE-M", "title": "Tee", "price": price, "currency": "EUR", "stock": "1"}
    created = admin.post("/admin/products/new", data={"csrf": csrf(admin), **new})
    assert created.status_code == 422 and 'id="product-price-error"' in created.text
    edit = {"title": "Mug", "price": price, "currency": "USD", "max_per_order": "10"}
    edited = admin.post("/admin/products/MUG-01", data={"csrf": csrf(admin), **edit})
    assert edited.status_code == 422 and 'id="product-price-error"' in edited.text
    listed = {"csrf": csrf(admin), "currency": "EUR", "price": price}
    answer = admin.post("/admin/products/MUG-01/prices", data=listed)
    assert answer.status_code == 422
    assert product(sessions).price_amount == 2400 and count(sessions, ProductPrice) == 0


@pytest.mark.parametrize("amount", ODD)
def test_an_odd_discount_amount_or_percent_is_a_422(
    admin: TestClient, sessions: sessionmaker[Session], amount: str
) -> None:
    form = {"csrf": csrf(admin, "/admin/discounts"), "code": "odd-1", "currency": "EUR"}
    for typed in (
        {"kind": "fixed", "amount": amount},
        {"kind": "percent", "percent": amount},
        {"kind": "free_shipping", "min_subtotal": amount},
        {"kind": "free_shipping", "usage_limit": amount},
    ):
        answer = admin.post("/admin/discounts", data={**form, **typed})
        assert answer.status_code == 422, typed
    for typed in ({"amount": amount}, {"percent": amount}, {"usage_limit": amount}):
        kind = "percent" if "percent" in typed else "fixed"
        with pytest.raises(InvalidInput) as caught:
            discounts.spec_from_text({"code": "odd", "kind": kind, "currency": "EUR", **typed})
        assert one_line(caught.value.message)
    assert count(sessions, DiscountCode) == 0


@pytest.mark.parametrize("amount", ODD)
def test_an_odd_shipping_amount_is_a_422(
    admin: TestClient, sessions: sessionmaker[Session], amount: str
) -> None:
    token = csrf(admin, "/admin/shipping")
    zone = admin.post(
        "/admin/shipping/zones",
        data={"csrf": token, "name": "EU", "countries": "DE"},
        follow_redirects=False,
    )
    assert zone.status_code == 303
    rates = zone.headers["location"].split("?")[0] + "/rates"
    base = {"csrf": token, "name": "Standard", "currency": "EUR"}
    for typed in (
        {"kind": "flat", "amount": amount},
        {"kind": "free_over", "amount": "4.90", "free_over": amount},
        {"kind": "weight", "brackets": f"up to 1000 g: {amount}"},
    ):
        answer = admin.post(rates, data={**base, **typed})
        assert answer.status_code == 422, typed
        with pytest.raises(InvalidInput):
            shipping.rate_spec({**base, **typed})
    assert count(sessions, ShippingRate) == 0


# -- the API --------------------------------------------------------------------------------


@pytest.mark.parametrize("price", ODD)
def test_an_odd_api_price_is_a_422(
    client: TestClient, sessions: sessionmaker[Session], price: str
) -> None:
    with write_session(sessions) as session:
        client.headers["Authorization"] = f"Bearer {create_key(session, 'write', 'test')[1]}"
    add_product(sessions)
    body = {"sku": "TEE-M", "title": "Tee", "price": price, "currency": "EUR"}
    created = client.post("/api/v1/products", json=body)
    assert created.status_code == 422
    assert one_line(created.json()["error"]["message"])
    changed = client.patch("/api/v1/products/MUG-01", json={"price": price, "currency": "EUR"})
    assert changed.status_code == 422
    assert product(sessions).price_amount == 2400
    assert client.get("/api/v1/products/TEE-M").status_code == 404


# -- the command line -----------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)


@pytest.mark.parametrize("amount", ODD)
def test_odd_amounts_on_the_command_line_are_one_line_errors(
    cli_env: None,
    admin: TestClient,
    paid_order: str,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    amount: str,
) -> None:
    capsys.readouterr()
    assert main(["orders", "refund", paid_order, f"--amount={amount}"]) == 1
    assert main(["codes", "create", "odd-1", f"--amount={amount}", "--currency", "EUR"]) == 2
    assert main(["codes", "create", "odd-2", f"--percent={amount}"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3, errors
    assert errors[0].startswith("buybutton: --amount: '") and "major units" in errors[0]
    assert errors[1].startswith("buybutton: amount: '")
    assert errors[2].startswith("buybutton: percent ")
    assert count(sessions, Refund) == 0 and count(sessions, DiscountCode) == 0
