"""Product JSON and widget files that embeds load from any site."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from tests.conftest import add_product


def test_product_json_is_public_and_cached_briefly(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, title='Mug "<Deluxe>"', stock=3, image_url="/img/mug.svg")
    answer = client.get("/api/public/products/MUG-01", headers={"Origin": "https://blog.example"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["cache-control"] == "public, max-age=15"
    assert answer.json() == {
        "sku": "MUG-01",
        "title": 'Mug "<Deluxe>"',
        "image_url": "http://shop.test/img/mug.svg",
        "price": {"amount": 2400, "currency": "USD", "formatted": "$24.00"},
        "in_stock": True,
        "low_stock": 3,
    }


def test_plenty_of_stock_is_not_counted_out(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=50)
    assert client.get("/api/public/products/MUG-01").json()["low_stock"] is None
    add_product(sessions, stock=0)
    assert client.get("/api/public/products/MUG-01").json()["in_stock"] is False


def test_unknown_product_json_is_a_json_error(client: TestClient) -> None:
    answer = client.get("/api/public/products/NOPE")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "product_unavailable"
    assert answer.headers["access-control-allow-origin"] == "*"


def test_widget_script_is_served_with_validators(client: TestClient) -> None:
    script = client.get("/widgets/buybutton.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["access-control-allow-origin"] == "*"
    again = client.get("/widgets/buybutton.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/widgets/__init__.py").status_code == 404
    assert client.get("/widgets/..%2Fapp.py").status_code == 404
