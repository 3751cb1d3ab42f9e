"""The owner's shipping page: zones and rates made and changed from forms in major units,
bad country, region and postal codes refused with nothing written, one zone per area, CSRF
and the owner's role; and a product's weight and tax class through the product form, the API
and the import."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import (
    Product,
    ShippingRate,
    ShippingRateBracket,
    ShippingZone,
    ShippingZoneArea,
)
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from buybutton_server.domain.api_keys import create_key
from buybutton_server.domain.catalog import CatalogImportError
from buybutton_server.domain.shipping_zones import AreaSpec
from tests.conftest import add_product
from tests.test_shipping import flat, zone

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


# -- the owner's page ----------------------------------------------------------------------


@pytest.fixture
def https_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        yield client


def signed_in(client: TestClient, sessions: sessionmaker[Session], role: str) -> str:
    email = f"{role}@shop.example"
    with write_session(sessions) as session:
        create_admin(session, email, PASSWORD, role=role)
    answer = client.post(
        "/admin/login", data={"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get("/admin/account").text)
    assert found is not None
    return found[1]


@pytest.fixture
def owner(https_client: TestClient, sessions: sessionmaker[Session]) -> str:
    return signed_in(https_client, sessions, "owner")


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def add_zone(client: TestClient, csrf: str, **fields: str) -> int:
    form = {"csrf": csrf, "name": "Germany & EU", "countries": "DE, at fr", **fields}
    answer = client.post("/admin/shipping/zones", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    found = re.search(r"/admin/shipping/zones/(\d+)", answer.headers["location"])
    assert found is not None
    return int(found[1])


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"countries": "DE, XX"}, "countries", "'XX' is not a country code"),
        ({"countries": "Narnia"}, "countries", "'Narnia' is not a country code"),
        ({"countries": ""}, "countries", "Name at least one country"),
        ({"regions": "US: Atlantis"}, "regions", "'Atlantis' is not a region of US"),
        ({"regions": "DE: BY"}, "regions", "DE has no regions"),
        ({"regions": "California"}, "regions", "US: CA, OR"),
        ({"postal": "DE: 1 0 *"}, "postal", "is not a postal code prefix"),
        ({"name": " "}, "name", "Enter a name"),
    ],
)
def test_bad_zones_are_explained_and_nothing_is_written(
    https_client: TestClient,
    sessions: sessionmaker[Session],
    owner: str,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    form = {"csrf": owner, "name": "Somewhere <b>", "countries": "DE", **fields}
    answer = https_client.post("/admin/shipping/zones", data=form)
    assert answer.status_code == 422
    assert re.search(
        rf'id="new-zone-{field}-error">[^<]*{re.escape(message)}', answer.text.replace("&#39;", "'")
    )
    assert "Somewhere &lt;b&gt;" in answer.text or fields.get("name") == " "  # kept, escaped
    assert count(sessions, ShippingZone) == 0 and count(sessions, ShippingZoneArea) == 0


def test_zones_and_rates_are_made_from_the_page_in_major_units(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    zone_id = add_zone(https_client, owner, regions="US: California, or", postal="GB: sw1a, EC")
    page = https_client.get(f"/admin/shipping/zones/{zone_id}?notice=zone-created")
    assert page.status_code == 200 and "Zone created" in page.text
    with sessions() as session:
        areas = session.scalars(select(ShippingZoneArea).order_by(ShippingZoneArea.id))
        assert {(a.country, a.region, a.postal_prefix) for a in areas} == {
            ("DE", "", ""),
            ("AT", "", ""),
            ("FR", "", ""),
            ("US", "CA", ""),
            ("US", "OR", ""),
            ("GB", "", "SW1A"),
            ("GB", "", "EC"),
        }
    rate = {
        "csrf": owner,
        "name": "Standard",
        "kind": "free_over",
        "currency": "eur",
        "amount": "4.90",
        "free_over": "50",
        "active": "on",
        "delivery_estimate": "2-4 days",
    }
    made = https_client.post(
        f"/admin/shipping/zones/{zone_id}/rates", data=rate, follow_redirects=False
    )
    assert made.status_code == 303
    weight = {
        "csrf": owner,
        "name": "Parcel",
        "kind": "weight",
        "currency": "EUR",
        "brackets": "up to 1000 g: 4.90\n2.5 kg: 9\n\nup to 500g = 3.50",
    }
    made = https_client.post(
        f"/admin/shipping/zones/{zone_id}/rates", data=weight, follow_redirects=False
    )
    assert made.status_code == 303
    with sessions() as session:
        stored = {r.name: r for r in session.scalars(select(ShippingRate))}
        standard, parcel = stored["Standard"], stored["Parcel"]
        assert (standard.kind, standard.currency, standard.amount, standard.free_over_amount) == (
            "free_over",
            "EUR",
            490,
            5000,
        )
        assert standard.active and standard.delivery_estimate == "2-4 days"
        assert [(b.up_to_grams, b.amount) for b in parcel.brackets] == [
            (500, 350),
            (1000, 490),
            (2500, 900),
        ]
        assert not parcel.active  # the box was not ticked
    listing = https_client.get("/admin/shipping").text
    assert "€4.90, free from €50.00" in listing and "up to 2500 g: €9.00" in listing
    # Edit the rate: its form shows major units; a bad amount is refused, nothing changes.
    edit = https_client.get(f"/admin/shipping/rates/{standard.id}").text
    assert 'value="4.90"' in edit and 'value="50.00"' in edit
    bad = {**rate, "amount": "4.999"}
    refused = https_client.post(f"/admin/shipping/rates/{standard.id}", data=bad)
    assert refused.status_code == 422 and 'id="rate-amount-error"' in refused.text
    assert 'value="4.999"' in refused.text
    saved = {**rate, "kind": "flat", "amount": "5.5"}
    assert (
        https_client.post(
            f"/admin/shipping/rates/{standard.id}", data=saved, follow_redirects=False
        ).status_code
        == 303
    )
    with sessions() as session:
        changed = session.get(ShippingRate, standard.id)
        assert changed is not None and (changed.kind, changed.amount, changed.free_over_amount) == (
            "flat",
            550,
            None,
        )
    # Delete a rate, then the zone (asked first) with everything in it.
    gone = https_client.post(
        f"/admin/shipping/rates/{parcel.id}/delete", data={"csrf": owner}, follow_redirects=False
    )
    assert gone.status_code == 303 and count(sessions, ShippingRateBracket) == 0
    asked = https_client.get(f"/admin/shipping/zones/{zone_id}/delete")
    assert "Delete this zone?" in asked.text
    https_client.post(f"/admin/shipping/zones/{zone_id}/delete", data={"csrf": owner})
    assert (
        count(sessions, ShippingZone)
        == count(sessions, ShippingRate)
        == count(sessions, ShippingZoneArea)
        == 0
    )


def test_bad_rates_are_explained_and_nothing_is_written(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    zone_id = add_zone(https_client, owner)
    base = {"csrf": owner, "name": "Standard", "kind": "flat", "currency": "EUR", "amount": "4.90"}
    for change, field in [
        ({"amount": "-1"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": ""}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"kind": "free_over", "free_over": ""}, "free_over"),
        ({"kind": "weight", "brackets": ""}, "brackets"),
        ({"kind": "weight", "brackets": "heavy: 4.90"}, "brackets"),
        ({"kind": "weight", "brackets": "up to 1000 g: 4\nup to 1 kg: 5"}, "brackets"),
        ({"kind": "teleport"}, "kind"),
    ]:
        answer = https_client.post(
            f"/admin/shipping/zones/{zone_id}/rates", data={**base, **change}
        )
        assert answer.status_code == 422, change
        assert f'id="new-rate-{field}-error"' in answer.text, change
    assert count(sessions, ShippingRate) == 0


def test_an_area_belongs_to_one_zone(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    add_zone(https_client, owner)
    form = {"csrf": owner, "name": "France", "countries": "FR, BE"}
    answer = https_client.post("/admin/shipping/zones", data=form)
    assert answer.status_code == 422 and "Already in another zone: FR" in answer.text
    assert count(sessions, ShippingZone) == 1 and count(sessions, ShippingZoneArea) == 3


def test_missing_or_foreign_csrf_is_refused(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    zone_id = add_zone(https_client, owner)
    form = {"name": "Elsewhere", "countries": "US"}
    for data in (form, {**form, "csrf": "0" * 64}):
        assert https_client.post("/admin/shipping/zones", data=data).status_code == 400
        assert https_client.post(f"/admin/shipping/zones/{zone_id}", data=data).status_code == 400
        assert (
            https_client.post(f"/admin/shipping/zones/{zone_id}/delete", data=data).status_code
            == 400
        )
    assert count(sessions, ShippingZone) == 1 and count(sessions, ShippingZoneArea) == 3


def test_staff_get_403_and_change_nothing(
    https_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    zone_id = zone(sessions, "DE", [AreaSpec("DE")], flat(490))
    csrf = signed_in(https_client, sessions, "staff")
    for path in ("/admin/shipping", f"/admin/shipping/zones/{zone_id}"):
        assert https_client.get(path).status_code == 403
    assert "/admin/shipping" not in https_client.get("/admin/orders").text
    form = {"csrf": csrf, "name": "US", "countries": "US"}
    assert https_client.post("/admin/shipping/zones", data=form).status_code == 403
    assert (
        https_client.post(f"/admin/shipping/zones/{zone_id}/delete", data=form).status_code == 403
    )
    assert count(sessions, ShippingZone) == 1 and count(sessions, ShippingRate) == 1


def test_unknown_zones_and_rates_are_404(https_client: TestClient, owner: str) -> None:
    for path in (
        "/admin/shipping/zones/99",
        "/admin/shipping/rates/99",
        "/admin/shipping/zones/" + "9" * 30,
    ):
        assert https_client.get(path).status_code == 404
    assert (
        https_client.post("/admin/shipping/rates/99/delete", data={"csrf": owner}).status_code
        == 404
    )


# -- product weight and tax class ----------------------------------------------------------

PRODUCT = {
    "sku": "KETTLE-1",
    "title": "Kettle",
    "description": "",
    "price": "49.00",
    "currency": "EUR",
    "image_url": "",
    "requires_shipping": "on",
    "max_per_order": "5",
    "variant_group": "",
    "variant_label": "",
    "stock": "3",
}


def stored_product(sessions: sessionmaker[Session], sku: str) -> tuple[int, str]:
    with sessions() as session:
        found = session.scalar(select(Product).where(Product.sku == sku))
        assert found is not None
        return found.weight_grams, found.tax_class


def test_weight_and_tax_class_are_saved_from_the_product_form(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    new = https_client.get("/admin/products/new").text
    assert 'name="weight_grams"' in new and '<option value="standard" selected>' in new
    form = {"csrf": owner, **PRODUCT, "weight_grams": "1250", "tax_class": "reduced"}
    made = https_client.post("/admin/products/new", data=form, follow_redirects=False)
    assert made.status_code == 303
    assert stored_product(sessions, "KETTLE-1") == (1250, "reduced")
    page = https_client.get("/admin/products/KETTLE-1").text
    assert 'value="1250"' in page and '<option value="reduced" selected>' in page
    edit = {k: v for k, v in form.items() if k not in ("sku", "stock")}
    for bad, field in (
        ({"weight_grams": "-5"}, "weight_grams"),
        ({"tax_class": "luxury"}, "tax_class"),
    ):
        refused = https_client.post("/admin/products/KETTLE-1", data={**edit, **bad})
        assert refused.status_code == 422 and f'id="product-{field}-error"' in refused.text
    assert stored_product(sessions, "KETTLE-1") == (1250, "reduced")
    saved = https_client.post(
        "/admin/products/KETTLE-1", data={**edit, "weight_grams": "900", "tax_class": "zero"}
    )
    assert saved.status_code == 200 and stored_product(sessions, "KETTLE-1") == (900, "zero")


def test_weight_and_tax_class_through_the_api_and_the_import(
    https_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    with write_session(sessions) as session:
        key = create_key(session, "write", "test")[1]
    https_client.headers["Authorization"] = f"Bearer {key}"
    body = {"sku": "CUP-1", "title": "Cup", "currency": "USD", "price": "5.00"}
    created = https_client.post("/api/v1/products", json={**body, "weight_grams": 320})
    assert created.status_code == 201
    assert (created.json()["weight_grams"], created.json()["tax_class"]) == (320, "standard")
    changed = https_client.patch("/api/v1/products/CUP-1", json={"tax_class": "digital"})
    assert (changed.json()["weight_grams"], changed.json()["tax_class"]) == (320, "digital")
    for bad in ({"weight_grams": -1}, {"tax_class": "luxury"}, {"weight_grams": "heavy"}):
        assert https_client.patch("/api/v1/products/CUP-1", json=bad).status_code == 422
    assert stored_product(sessions, "CUP-1") == (320, "digital")
    # The import: optional columns; left blank, a product keeps what it has.
    add_product(sessions, sku="CUP-1", title="Cup", price="5.00", currency="USD")
    assert stored_product(sessions, "CUP-1") == (320, "digital")
    add_product(sessions, sku="CUP-1", title="Cup", weight_grams="400", tax_class="Reduced")
    assert stored_product(sessions, "CUP-1") == (400, "reduced")
    add_product(sessions, sku="NEW-1", title="New")
    assert stored_product(sessions, "NEW-1") == (0, "standard")
    with pytest.raises(CatalogImportError, match="tax_class must be one of"):
        add_product(sessions, sku="NEW-2", title="New", tax_class="luxury", weight_grams="-1")
