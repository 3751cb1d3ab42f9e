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
        "price": {"amount": 2400, "currency": "USD", "decimal": "24.00", "formatted": "$24.00"},
        "description": "",
        "in_stock": True,
        "low_stock": 3,
        "max_quantity": 3,
        "variants": [],
        "overlay": False,
        "text": {  # the widget's words in the browser's language (docs/languages.md)
            "sold_out": "Sold out",
            "sold_out_short": "sold out",
            "in_stock": "In stock",
            "low_stock": "only 3 left",
        },
    }
    assert answer.headers["vary"] == "Origin, Accept-Language, Cookie"


def test_variants_are_listed_cheapest_first_with_their_own_stock(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, sku="TEE-M", title="Tee M", variant_group="TEE", variant_label="M")
    add_product(
        sessions, sku="TEE-XL", price="26.00", stock=0, variant_group="TEE", variant_label="XL"
    )
    add_product(sessions, sku="TEE-S", price="22.00", variant_group="TEE", variant_label="S")
    add_product(sessions, sku="TEE-OLD", variant_group="TEE", variant_label="L", active="false")
    variants = client.get("/api/public/products/TEE-M").json()["variants"]
    assert [(v["sku"], v["label"], v["price"]["formatted"], v["in_stock"]) for v in variants] == [
        ("TEE-S", "S", "$22.00", True),
        ("TEE-M", "M", "$24.00", True),
        ("TEE-XL", "XL", "$26.00", False),
    ]


def test_overlay_is_offered_only_to_registered_origins(
    settings,
    sessions: sessionmaker[Session],  # type: ignore[no-untyped-def]
) -> None:
    from dataclasses import replace

    from buybutton_server import create_app

    add_product(sessions)
    registered = replace(settings, allowed_origins=("https://blog.example",))
    with TestClient(create_app(registered), base_url="http://shop.test") as client:
        url = "/api/public/products/MUG-01"
        assert client.get(url, headers={"Origin": "https://blog.example"}).json()["overlay"]
        assert not client.get(url, headers={"Origin": "https://evil.example"}).json()["overlay"]
        assert not client.get(url).json()["overlay"]


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
    assert "/*" not in script.text, "served minified, comments stripped"
    assert client.get("/widgets/__init__.py").status_code == 404
    assert client.get("/widgets/..%2Fapp.py").status_code == 404


def test_widget_files_go_out_gzipped_to_browsers_that_accept_it(client: TestClient) -> None:
    import gzip

    plain = client.get("/widgets/buybutton.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    # Read the raw bytes as they cross the wire, before any client-side decoding.
    with client.stream("GET", "/widgets/buybutton.js", headers={"Accept-Encoding": "gzip"}) as raw:
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.headers["vary"] == "Accept-Encoding"
        wire = b"".join(raw.iter_raw())
    assert gzip.decompress(wire) == plain.content
    assert len(wire) < len(plain.content) / 2
