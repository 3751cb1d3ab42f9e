"""The admin's product pages: create and edit in major units, per-field messages with nothing
written, archive and unarchive (the checkout follows), variants, the price list, stock on
hand never below what checkouts hold, CSRF, escaping, and staff logins."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import Product, ProductPrice
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import STAFF, ScryptCost, create_admin
from buybutton_server.domain.api_keys import create_key
from buybutton_server.errors import InvalidInput
from buybutton_server.services import catalog
from tests.conftest import add_product, path_of, product, set_stock

PASSWORD = "correct horse battery staple"
NEW = {
    "sku": "TEE-M",
    "title": "Linen Tee",
    "description": "Soft.",
    "price": "12.50",
    "currency": "EUR",
    "image_url": "https://cdn.example/tee.jpg",
    "requires_shipping": "on",
    "max_per_order": "4",
    "variant_group": "",
    "variant_label": "",
    "stock": "7",
}


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def admin(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    """A client signed in as the shop's owner."""
    yield from _signed_in(settings, sessions, "owner@shop.example", "owner")


@pytest.fixture
def staff(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    yield from _signed_in(settings, sessions, "clerk@shop.example", STAFF)


def _signed_in(
    settings: Settings, sessions: sessionmaker[Session], email: str, role: str
) -> Iterator[TestClient]:
    with write_session(sessions) as session:
        create_admin(session, email, PASSWORD, role=role)
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        answer = client.post(
            "/admin/login", data={"email": email, "password": PASSWORD}, follow_redirects=False
        )
        assert answer.status_code == 303
        yield client


def csrf(client: TestClient, path: str = "/admin/products") -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get(path).text)
    assert found is not None
    return found[1]


def post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    return client.post(path, data={"csrf": csrf(client), **data}, follow_redirects=False)


def error_next_to(page: str, field: str) -> str:
    """The message shown under the field whose id is ``field``."""
    found = re.search(rf'<p class="error" id="{re.escape(field)}-error">([^<]*)</p>', page)
    assert found is not None, f"no message next to {field}"
    return html.unescape(found[1])


def count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return len(list(session.scalars(select(Product.id))))


def list_prices(sessions: sessionmaker[Session], sku: str) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(
            select(ProductPrice.currency, ProductPrice.amount)
            .join(Product, Product.id == ProductPrice.product_id)
            .where(Product.sku == sku)
        )
        return {currency: amount for currency, amount in rows}


def test_a_product_is_created_from_major_units(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    form = admin.get("/admin/products/new")
    assert form.status_code == 200 and 'name="sku"' in form.text
    created = post(admin, "/admin/products/new", NEW)
    assert created.status_code == 303
    assert created.headers["location"] == "/admin/products/TEE-M?notice=created"
    saved = product(sessions, "TEE-M")
    assert (saved.price_amount, saved.currency, saved.on_hand) == (1250, "EUR", 7)
    assert (saved.max_per_order, saved.requires_shipping, saved.active) == (4, True, True)
    page = admin.get(created.headers["location"]).text
    assert "Product created." in page and "€12.50" in page
    assert '<a class="button secondary" href="/admin/products/TEE-M/images">Images</a>' in page

    yen = {**NEW, "sku": "TEA-JP", "price": "1200", "currency": "JPY"}
    assert post(admin, "/admin/products/new", yen).status_code == 303
    assert (product(sessions, "TEA-JP").price_amount, product(sessions, "TEA-JP").currency) == (
        1200,
        "JPY",
    )

    listed = admin.get("/admin/products").text
    assert "€12.50" in listed and "¥1,200" in listed
    assert '<img class="product-thumb" src="https://cdn.example/tee.jpg" alt="Linen Tee"' in listed
    assert ">7</td>" in listed  # stock available


def test_the_list_searches_by_sku_or_title_and_filters_archived(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, sku="MUG-01", title="Stoneware Mug")
    add_product(sessions, sku="CAP-1", title="Wool Cap")
    add_product(sessions, sku="OLD-1", title="Old Mug", active="false")
    assert 'data-sku="CAP-1"' in admin.get("/admin/products?q=cap").text
    mugs = admin.get("/admin/products?q=MUG").text
    assert 'data-sku="MUG-01"' in mugs and 'data-sku="CAP-1"' not in mugs
    assert 'data-sku="OLD-1"' not in mugs, "archived products are hidden by default"
    archived = admin.get("/admin/products?status=archived").text
    assert 'data-sku="OLD-1"' in archived and 'data-sku="MUG-01"' not in archived
    assert admin.get("/admin/products?q=%25").text.count("data-sku=") == 0, "% is literal"


@pytest.mark.parametrize(
    ("price", "currency", "message"),
    [
        ("12.345", "EUR", "'12.345' has more decimals than EUR allows (2)"),
        ("abc", "EUR", "'abc' is not a number"),
        ("-5", "EUR", "'-5' is not a price"),
        ("12.5", "JPY", "'12.5' has more decimals than JPY allows (0)"),
        ("", "EUR", 'Enter a price, e.g. "12.50".'),
    ],
)
def test_a_bad_price_is_shown_next_to_the_field_and_nothing_is_written(
    admin: TestClient, sessions: sessionmaker[Session], price: str, currency: str, message: str
) -> None:
    refused = post(admin, "/admin/products/new", {**NEW, "price": price, "currency": currency})
    assert refused.status_code == 422
    assert error_next_to(refused.text, "product-price") == message
    assert f'value="{html.escape(price)}"' in refused.text and 'value="Linen Tee"' in refused.text
    assert count(sessions) == 0


def test_each_broken_rule_is_shown_at_its_field(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    bad = {**NEW, "sku": "no spaces", "title": " ", "image_url": "http://cdn.example/x.jpg"}
    refused = post(admin, "/admin/products/new", {**bad, "max_per_order": "lots", "price": "1.001"})
    assert refused.status_code == 422
    assert "more decimals" in error_next_to(refused.text, "product-price")
    assert "may use only letters" in error_next_to(refused.text, "product-sku")
    assert error_next_to(refused.text, "product-title") == "title is required"
    assert "https://" in error_next_to(refused.text, "product-image_url")
    assert "whole number" in error_next_to(refused.text, "product-max_per_order")
    assert 'value="http://cdn.example/x.jpg"' in refused.text
    assert count(sessions) == 0


def test_a_taken_sku_is_refused_at_the_field(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, sku="TEE-M", title="Older Tee")
    refused = post(admin, "/admin/products/new", NEW)
    assert refused.status_code == 409
    assert "exists already" in error_next_to(refused.text, "product-sku")
    assert product(sessions, "TEE-M").title == "Older Tee"


def test_editing_changes_title_and_price(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)  # MUG-01, USD 24.00, stock 5
    page = admin.get("/admin/products/MUG-01")
    assert page.status_code == 200 and 'value="24.00"' in page.text
    form = {**NEW, "title": "Big Mug", "price": "26.75", "currency": "USD", "image_url": ""}
    del form["sku"], form["stock"]
    saved = post(admin, "/admin/products/MUG-01", form)
    assert saved.status_code == 303 and saved.headers["location"].endswith("notice=saved")
    changed = product(sessions)
    assert (changed.title, changed.price_amount, changed.on_hand) == ("Big Mug", 2675, 5)
    refused = post(admin, "/admin/products/MUG-01", {**form, "title": "Other", "price": "1.001"})
    assert refused.status_code == 422 and "more decimals" in refused.text
    assert 'value="Other"' in refused.text
    assert product(sessions).title == "Big Mug"
    assert admin.get("/admin/products/NOPE-1").status_code == 404


def test_archived_products_cannot_be_bought_until_unarchived(
    admin: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions)
    link = path_of(bb.checkout_link("MUG-01"))
    assert admin.get(link).status_code == 200
    archived = post(admin, "/admin/products/MUG-01/archive", {})
    assert archived.status_code == 303 and not product(sessions).active
    gone = admin.get(link)
    assert gone.status_code == 404 and "This product is no longer available" in gone.text
    assert "Unarchive" in admin.get("/admin/products/MUG-01").text
    assert post(admin, "/admin/products/MUG-01/unarchive", {}).status_code == 303
    assert product(sessions).active
    assert admin.get(link).status_code == 200


def test_variants_are_listed_and_a_new_one_is_prefilled(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, sku="TEE-S", title="Tee", variant_group="tee", variant_label="Small")
    add_product(sessions, sku="TEE-L", title="Tee", variant_group="tee", variant_label="Large")
    add_product(sessions, sku="CAP-1", title="Cap")
    page = admin.get("/admin/products/TEE-S").text
    siblings = page[page.index('id="siblings"') :]
    assert '<a href="/admin/products/TEE-L">Large</a>' in siblings
    assert "TEE-S</a>" not in siblings and "CAP-1" not in siblings
    assert "Add a variant" not in admin.get("/admin/products/CAP-1").text
    new = admin.get("/admin/products/new?variant_of=TEE-S").text
    assert 'id="product-variant_group" name="variant_group" type="text" value="tee"' in new
    assert 'id="product-sku" name="sku" type="text" value=""' in new
    made = post(
        admin,
        "/admin/products/new?variant_of=TEE-S",
        {**NEW, "sku": "TEE-XL", "variant_group": "tee", "variant_label": "XL"},
    )
    assert made.status_code == 303
    assert '<a href="/admin/products/TEE-XL">XL</a>' in admin.get("/admin/products/TEE-L").text


def test_the_price_list_adds_changes_and_removes_prices(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)  # USD 24.00
    path = "/admin/products/MUG-01/prices"
    added = post(admin, path, {"currency": "eur", "price": "22.00"})
    assert added.status_code == 303 and added.headers["location"].endswith("price-added")
    assert post(admin, path, {"currency": "JPY", "price": "3500"}).status_code == 303
    assert list_prices(sessions, "MUG-01") == {"EUR": 2200, "JPY": 3500}
    changed = post(admin, path, {"currency": "EUR", "price": "21.50", "row": "1"})
    assert changed.headers["location"].endswith("price-changed")
    assert list_prices(sessions, "MUG-01") == {"EUR": 2150, "JPY": 3500}
    page = admin.get("/admin/products/MUG-01").text
    assert "€21.50" in page and "¥3,500" in page and "$24.00" in page

    for form, field, words in [
        ({"currency": "XXX", "price": "1.00"}, "new-price-currency", "not an ISO 4217 code"),
        ({"currency": "USD", "price": "1.00"}, "new-price-currency", "own currency"),
        ({"currency": "GBP", "price": "0"}, "new-price", "more than 0"),
        ({"currency": "GBP", "price": "1.001"}, "new-price", "more decimals"),
        ({"currency": "EUR", "price": "x", "row": "1"}, "price-EUR", "not a number"),
    ]:
        refused = post(admin, path, form)
        assert refused.status_code == 422
        assert words in error_next_to(refused.text, field)
    assert list_prices(sessions, "MUG-01") == {"EUR": 2150, "JPY": 3500}

    removed = post(admin, f"{path}/remove", {"currency": "EUR"})
    assert removed.headers["location"].endswith("price-removed")
    assert list_prices(sessions, "MUG-01") == {"JPY": 3500}
    assert post(admin, f"{path}/remove", {"currency": "EUR"}).status_code == 404


def test_the_api_reads_and_writes_the_price_list(sessions: sessionmaker[Session]) -> None:
    created = catalog.create_product(
        sessions,
        catalog.ProductCreate(
            sku="MUG-02",
            title="Mug",
            currency="USD",
            price="10.00",
            prices=[catalog.ListPrice(currency="EUR", amount=900)],
        ),
    )
    assert [(p.currency, p.amount, p.decimal) for p in created.prices] == [("EUR", 900, "9.00")]
    with pytest.raises(InvalidInput, match="own currency"):
        catalog.update_product(
            sessions,
            "MUG-02",
            catalog.ProductUpdate(prices=[catalog.ListPrice(currency="USD", amount=5)]),
        )
    with pytest.raises(InvalidInput, match="in this product's price list"):
        catalog.update_product(
            sessions, "MUG-02", catalog.ProductUpdate(currency="EUR", price="9.50")
        )
    moved = catalog.update_product(
        sessions,
        "MUG-02",
        catalog.ProductUpdate(
            currency="EUR", price="9.50", prices=[catalog.ListPrice(currency="USD", amount=1000)]
        ),
    )
    assert (moved.price.amount, [(p.currency, p.amount) for p in moved.prices]) == (
        950,
        [("USD", 1000)],
    )
    assert list_prices(sessions, "MUG-02") == {"USD": 1000}


def test_the_api_takes_and_shows_prices(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    with write_session(sessions) as session:
        client.headers["Authorization"] = f"Bearer {create_key(session, 'write', 'test')[1]}"
    body = {"sku": "CUP-1", "title": "Cup", "currency": "USD", "price": "5.00"}
    created = client.post(
        "/api/v1/products", json={**body, "prices": [{"currency": "GBP", "amount": 400}]}
    )
    assert created.status_code == 201
    assert created.json()["prices"] == [{"amount": 400, "currency": "GBP", "decimal": "4.00"}]
    twice = [{"currency": "EUR", "amount": 1}, {"currency": "eur", "amount": 2}]
    refused = client.patch("/api/v1/products/CUP-1", json={"prices": twice})
    assert refused.status_code == 422 and "EUR twice" in refused.text
    zero = client.patch(
        "/api/v1/products/CUP-1", json={"prices": [{"currency": "EUR", "amount": 0}]}
    )
    assert zero.status_code == 422
    cleared = client.patch("/api/v1/products/CUP-1", json={"prices": []})
    assert cleared.json()["prices"] == [] and list_prices(sessions, "CUP-1") == {}
    assert client.get("/api/v1/products/CUP-1").json()["prices"] == []


def test_stock_on_hand_never_goes_below_what_checkouts_hold(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)  # stock 5
    set_stock(sessions, reserved=3)
    assert (
        post(admin, "/admin/products/MUG-01/stock", {"on_hand": "9", "was": "5"}).status_code == 303
    )
    assert product(sessions).on_hand == 9
    refused = post(admin, "/admin/products/MUG-01/stock", {"on_hand": "2", "was": "9"})
    assert refused.status_code == 409
    assert "below the 3 units held by checkouts" in error_next_to(refused.text, "stock-on-hand")
    assert 'value="2"' in refused.text
    bad = post(admin, "/admin/products/MUG-01/stock", {"on_hand": "-1", "was": "9"})
    assert bad.status_code == 422
    assert "Stock on hand must be a whole number" in error_next_to(bad.text, "stock-on-hand")
    assert product(sessions).on_hand == 9


def test_a_stale_stock_form_never_overwrites_a_sale(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)  # stock 5
    page = admin.get("/admin/products/MUG-01").text
    shown = re.search(r'name="was" value="([0-9]+)"', page)
    assert shown is not None and shown[1] == "5"
    set_stock(sessions, on_hand=4)  # a unit sells while the page is open
    form = {"csrf": csrf(admin), "was": shown[1], "on_hand": "15"}  # "5 plus the 10 that came"
    refused = admin.post("/admin/products/MUG-01/stock", data=form, follow_redirects=False)
    assert refused.status_code == 409
    message = error_next_to(refused.text, "stock-on-hand")
    assert "changed since you loaded the page (now 4)" in message
    assert 'value="15"' in refused.text, "what was typed stays in the field"
    assert 'name="was" value="4"' in refused.text, "saving again is against the stock now"
    assert ">4 on hand," in refused.text
    assert product(sessions).on_hand == 4, "nothing was written"
    for was in ("", "x", "-1", "9" * 40):  # a form without (or with a broken) number
        odd = admin.post(
            "/admin/products/MUG-01/stock",
            data={**form, "csrf": csrf(admin), "was": was},
            follow_redirects=False,
        )
        assert odd.status_code == 409 and product(sessions).on_hand == 4
    again = {**form, "csrf": csrf(admin), "was": "4", "on_hand": "14"}
    assert admin.post("/admin/products/MUG-01/stock", data=again).status_code == 200
    assert product(sessions).on_hand == 14


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/admin/products/new", NEW),
        ("/admin/products/MUG-01/archive", {}),
        ("/admin/products/MUG-01/stock", {"on_hand": "50"}),
        ("/admin/products/MUG-01/prices", {"currency": "EUR", "price": "1.00"}),
    ],
)
def test_posts_without_the_sessions_csrf_token_are_refused(
    admin: TestClient, sessions: sessionmaker[Session], path: str, form: dict[str, str]
) -> None:
    add_product(sessions)
    for token in (None, "0" * 64):
        data = form if token is None else {**form, "csrf": token}
        refused = admin.post(path, data=data, follow_redirects=False)
        assert refused.status_code in (400, 403)
    saved = product(sessions)
    assert (saved.active, saved.on_hand, count(sessions)) == (True, 5, 1)
    assert list_prices(sessions, "MUG-01") == {}


def test_titles_are_escaped_on_the_list_and_the_product_page(
    admin: TestClient, sessions: sessionmaker[Session]
) -> None:
    title = "<script>alert(1)</script>"
    assert post(admin, "/admin/products/new", {**NEW, "title": title}).status_code == 303
    for path in ("/admin/products", "/admin/products/TEE-M"):
        page = admin.get(path).text
        assert title not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_staff_can_use_the_product_pages(
    staff: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    assert staff.get("/admin/products").status_code == 200
    assert staff.get("/admin/products/MUG-01").status_code == 200
    assert post(staff, "/admin/products/new", NEW).status_code == 303
    assert (
        post(staff, "/admin/products/MUG-01/stock", {"on_hand": "8", "was": "5"}).status_code == 303
    )
    assert product(sessions).on_hand == 8


def test_signed_out_visitors_are_sent_to_sign_in(client: TestClient) -> None:
    answer = client.get("/admin/products/MUG-01", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")
    posted = client.post("/admin/products/new", data=NEW, follow_redirects=False)
    assert posted.status_code in (303, 400, 403)
