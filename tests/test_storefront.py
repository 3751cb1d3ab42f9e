"""``GET /``: the shop's front page lists what is for sale, and is never a 404."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import add_product


def test_an_empty_shop_says_so_instead_of_page_not_found(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200, "the README's http://127.0.0.1:8000/ was 'Page not found'"
    assert "Nothing is for sale here yet" in page.text
    assert "Page not found" not in page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "nonce-" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "private, max-age=60"


def test_the_index_lists_active_products_by_title_with_prices_and_links(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(
        sessions, sku="MUG-01", title="Stoneware Mug", price="24.00", image_url="/img/mug.jpg"
    )
    add_product(sessions, sku="BAG-01", title="Canvas <Bag>", price="1200", currency="JPY", stock=0)
    add_product(sessions, sku="OLD-01", title="Archived thing", active="false")
    add_product(
        sessions, sku="TEE-S", title="Tee", price="18.00", variant_group="tee", variant_label="S"
    )
    add_product(
        sessions, sku="TEE-XL", title="Tee", price="21.00", variant_group="tee", variant_label="XL"
    )
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    titles = re.findall(r'class="shop-title">([^<]*)<', html)
    assert titles == ["Canvas &lt;Bag&gt;", "Stoneware Mug", "Tee"], (
        "by title, escaped, once per group"
    )
    assert "Archived thing" not in html
    assert 'href="/p/MUG-01"' in html and 'href="/p/TEE-S"' in html and "/p/TEE-XL" not in html
    assert "$24.00" in html and "¥1,200" in html and "from $18.00" in html
    assert 'src="http://shop.test/img/mug.jpg"' in html
    bag = html[html.index("Canvas &lt;Bag&gt;") :]
    assert bag.index("Sold out") < bag.index("Stoneware Mug")
    assert client.get("/p/MUG-01").status_code == 200, "each entry leads to a page with Buy now"


def test_head_and_query_strings_work_too(client: TestClient) -> None:
    assert client.head("/").status_code == 200
    assert client.get("/?utm_source=instagram").status_code == 200
