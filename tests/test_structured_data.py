"""Structured data on the product page (issue 16, item 5): schema.org Product + Offer as
JSON-LD and Meta's product:* Open Graph tags, read back with a real extractor (extruct)."""

from __future__ import annotations

import json
import re

import extruct
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import BASE_URL, add_product, set_stock

FIELDS = {
    "description": "Stoneware, 350 ml.",
    "image_url": "/media/products/mug.png",
    "brand": "Brewline",
    "gtin": "4006381333931",
    "mpn": "MUG-350",
    "variant_group": "MUGS",
}


def _data(html: str) -> dict[str, list[dict[str, object]]]:
    return extruct.extract(html, base_url=BASE_URL, syntaxes=["json-ld", "opengraph"],
                           uniform=True)  # fmt: skip


def test_the_product_page_carries_a_schema_org_product_with_its_offer(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, **FIELDS)
    page = client.get("/p/MUG-01")
    assert page.status_code == 200
    [product] = _data(page.text)["json-ld"]
    assert product["@context"] == "https://schema.org" and product["@type"] == "Product"
    assert product["name"] == "Stoneware Mug" and product["sku"] == "MUG-01"
    assert product["gtin"] == "4006381333931" and product["mpn"] == "MUG-350"
    assert product["brand"] == {"@type": "Brand", "name": "Brewline"}
    assert product["image"] == f"{BASE_URL}/media/products/mug.png"
    offer = product["offers"]
    assert offer["@type"] == "Offer"
    assert offer["price"] == "24.00" and offer["priceCurrency"] == "USD"
    assert offer["availability"] == "https://schema.org/InStock"
    assert offer["url"] == f"{BASE_URL}/p/MUG-01"
    assert offer["itemCondition"] == "https://schema.org/NewCondition"
    # The script element carries the page's CSP nonce.
    nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"])
    assert nonce and f'<script type="application/ld+json" nonce="{nonce.group(1)}">' in page.text


def test_sold_out_shows_out_of_stock_in_both_vocabularies(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, **FIELDS)
    set_stock(sessions, on_hand=0)
    data = _data(client.get("/p/MUG-01").text)
    assert data["json-ld"][0]["offers"]["availability"] == "https://schema.org/OutOfStock"
    [graph] = data["opengraph"]
    assert graph["product:availability"] == "out of stock"


def test_metas_product_open_graph_tags(client: TestClient, sessions: sessionmaker[Session]) -> None:
    add_product(sessions, **FIELDS)
    [graph] = _data(client.get("/p/MUG-01").text)["opengraph"]
    assert graph["@type"] == "product"  # og:type, as extruct names it
    assert graph["product:price:amount"] == "24.00"
    assert graph["product:price:currency"] == "USD"
    assert graph["product:brand"] == "Brewline"
    assert graph["product:availability"] == "in stock"
    assert graph["product:condition"] == "new"
    assert graph["product:retailer_item_id"] == "MUG-01"
    assert graph["product:item_group_id"] == "MUGS"
    assert graph["og:image"].startswith(f"{BASE_URL}/media/previews/MUG-01/")


def test_text_cannot_close_the_script_element(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    hostile = "</script><script>alert(1)</script> & 'quotes'"
    add_product(sessions, title="Mug " + hostile, description=hostile)
    page = client.get("/p/MUG-01").text
    script = page.split('type="application/ld+json"', 1)[1].split("</script>", 1)[0]
    assert "<" not in script.split(">", 1)[1]
    [product] = _data(page)["json-ld"]
    assert product["name"] == "Mug " + hostile and product["description"] == hostile
    assert "<script>alert(1)" not in page


def test_the_partial_renders_for_other_pages(client: TestClient) -> None:
    """``_product_jsonld.html`` is meant for the checkout page too: it renders from a dict."""
    templates = client.app.state.templates  # type: ignore[attr-defined]
    html = templates.get_template("_product_jsonld.html").render(
        product_jsonld={"@type": "Product", "name": "</script>"}, csp_nonce="n0"
    )
    assert html.startswith('<script type="application/ld+json" nonce="n0">')
    body = html.split(">", 1)[1].rsplit("</script>", 1)[0]
    assert json.loads(body) == {"@type": "Product", "name": "</script>"}
