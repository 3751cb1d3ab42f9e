"""The product fields shopping channels need (issue 16, item 4): brand, GTIN (check digit
verified with python-stdnum), MPN, condition and Google product category, through the CSV
import (a refusal names the line), the API and the admin's product form."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server.db import write_session
from buybutton_server.domain.catalog import CatalogImportError, upsert_products
from buybutton_server.domain.catalog_import import read_catalog_file, validate_rows
from buybutton_server.domain.feeds_fields import check_gtin
from buybutton_server.errors import InvalidInput
from tests.conftest import product

WIDE_DIGITS = "".join(chr(0xFF10 + int(d)) for d in "4006381333931")  # full-width
HEADER = "sku,title,price,currency,brand,gtin,mpn,condition,google_category\n"


def _import(sessions: sessionmaker[Session], path: Path) -> None:
    with write_session(sessions) as session:
        upsert_products(session, validate_rows(read_catalog_file(path)))


@pytest.mark.parametrize("good", ["4006381333931", "036000291452", "96385074",
                                  "10012345678902", "400-6381 333931"])  # fmt: skip
def test_valid_gtins(good: str) -> None:
    assert check_gtin(good) == good.replace("-", "").replace(" ", "")


@pytest.mark.parametrize(("bad", "says"), [
    ("4006381333932", "wrong check digit"), ("12345", "8, 12, 13 or 14 digits"),
    ("40063813339x1", "8, 12, 13 or 14 digits"), (WIDE_DIGITS, "digits"),
])  # fmt: skip
def test_bad_gtins(bad: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        check_gtin(bad)


def test_the_csv_import_sets_and_keeps_the_feed_fields(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(HEADER + "MUG-01,Mug,12.00,USD,Brewline,4006381333931,M-1,Refurbished,2920\n")
    _import(sessions, path)
    mug = product(sessions)
    assert (mug.brand, mug.gtin, mug.mpn, mug.condition, mug.google_category) == (
        "Brewline", "4006381333931", "M-1", "refurbished", "2920"
    )  # fmt: skip
    # A file without the columns keeps them; a blank cell clears one.
    path.write_text("sku,title,price,currency\nMUG-01,Mug,13.00,USD\n")
    _import(sessions, path)
    assert product(sessions).gtin == "4006381333931"
    path.write_text("sku,title,price,currency,gtin\nMUG-01,Mug,13.00,USD,\n")
    _import(sessions, path)
    assert product(sessions).gtin is None and product(sessions).brand == "Brewline"


def test_a_bad_check_digit_is_refused_with_its_line(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text(
        HEADER
        + "MUG-01,Mug,12.00,USD,Brewline,4006381333931,,new,\n"
        + "MUG-02,Mug,12.00,USD,Brewline,4006381333932,,new,\n"
        + "MUG-03,Mug,12.00,USD,Brewline,,,broken,\n"
    )
    with pytest.raises(CatalogImportError) as refused:
        _import(sessions, path)
    assert refused.value.problems == [
        "line 3: gtin 4006381333932 has a wrong check digit",
        "line 4: condition must be one of new, refurbished, used, got 'broken'",
    ]
    with pytest.raises(AssertionError):  # nothing was written
        product(sessions, "MUG-01")


def test_the_api_takes_and_shows_the_feed_fields(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    from buybutton_server.db import write_session as ws
    from buybutton_server.domain.api_keys import create_key

    with ws(sessions) as session:
        _, key = create_key(session, "write", "test")
    auth = {"Authorization": f"Bearer {key}"}
    body = {"sku": "MUG-01", "title": "Mug", "price": "12.00", "currency": "USD",
            "brand": "Brewline", "gtin": "4006381333931", "condition": "used"}  # fmt: skip
    created = client.post("/api/v1/products", json=body, headers=auth)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert (answer["brand"], answer["gtin"], answer["condition"]) == (
        "Brewline", "4006381333931", "used"
    )  # fmt: skip
    refused = client.patch("/api/v1/products/MUG-01", json={"gtin": "4006381333932"},
                           headers=auth)  # fmt: skip
    assert refused.status_code == 422 and "check digit" in refused.text
    cleared = client.patch("/api/v1/products/MUG-01", json={"gtin": ""}, headers=auth)
    assert cleared.status_code == 200 and cleared.json()["gtin"] is None


def test_the_admin_form_edits_the_feed_fields_and_keeps_a_refused_gtin(
    settings: object, sessions: sessionmaker[Session]
) -> None:
    from tests.test_admin_products import NEW, _signed_in, csrf

    clients = _signed_in(settings, sessions, "owner@shop.example", "owner")  # type: ignore[arg-type]
    admin = next(clients)
    created = admin.post("/admin/products/new", data={
        "csrf": csrf(admin, "/admin/products/new"), **NEW, "brand": "Linenworks",
        "gtin": "4006381333931", "mpn": "", "condition": "new", "google_category": "212",
    }, follow_redirects=False)  # fmt: skip
    assert created.status_code == 303, created.text
    tee = product(sessions, "TEE-M")
    assert (tee.brand, tee.gtin, tee.google_category) == ("Linenworks", "4006381333931", "212")
    page = admin.get("/admin/products/TEE-M").text
    assert re.search(
        r'<input id="product-gtin" name="gtin" type="text" value="4006381333931"', page
    )
    form = {**NEW, "brand": "Linenworks", "gtin": "4006381333932", "mpn": "",
            "condition": "used", "google_category": ""}  # fmt: skip
    form.pop("sku"), form.pop("stock")
    refused = admin.post("/admin/products/TEE-M", data={
        "csrf": csrf(admin, "/admin/products/TEE-M"), **form}, follow_redirects=False)  # fmt: skip
    assert refused.status_code == 422
    assert "wrong check digit" in refused.text and 'value="4006381333932"' in refused.text
    assert product(sessions, "TEE-M").condition == "new", "nothing written"
    form["gtin"] = ""
    saved = admin.post("/admin/products/TEE-M", data={
        "csrf": csrf(admin, "/admin/products/TEE-M"), **form}, follow_redirects=False)  # fmt: skip
    assert saved.status_code == 303
    tee = product(sessions, "TEE-M")
    assert (tee.gtin, tee.condition, tee.google_category) == (None, "used", None)
    clients.close()
