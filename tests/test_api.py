"""The REST API through the ASGI app: keys and scopes, products and stock, idempotency,
links, orders, and the OpenAPI document."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.tokens import LinkSigner
from buybutton_server import Settings
from buybutton_server.db import write_session
from buybutton_server.db.models import ApiKey, Order, ShortLink, WebhookEvent
from buybutton_server.domain.api_keys import create_key, revoke
from tests.conftest import (
    BASE_URL,
    GOOD_CARD,
    SECRET,
    SHOPPER,
    attempt_key,
    path_of,
    set_stock,
)


def make_key(sessions: sessionmaker[Session], scope: str) -> str:
    with write_session(sessions) as session:
        return create_key(session, scope, "test")[1]


@pytest.fixture
def writer(sessions: sessionmaker[Session]) -> str:
    return make_key(sessions, "write")


@pytest.fixture
def api(client: TestClient, writer: str) -> TestClient:
    client.headers["Authorization"] = f"Bearer {writer}"
    return client


def new_product(api: TestClient, sku: str = "MUG-01", **fields: object) -> dict:
    body = {"sku": sku, "title": "Stoneware Mug", "price": "24.00", "currency": "USD", "stock": 5}
    answer = api.post("/api/v1/products", json={**body, **fields})
    assert answer.status_code == 201, answer.text
    return answer.json()


def pay(client: TestClient, url: str, **attribution: str) -> None:
    client.cookies.delete("bb_bought")  # buying through the same link again (item 8)
    page = client.get(path_of(url))
    client.post(path_of(url), data={"attempt": attempt_key(page.text), **SHOPPER, **GOOD_CARD})


def test_keys_are_shown_once_stored_hashed_and_recognisable(
    sessions: sessionmaker[Session],
) -> None:
    key = make_key(sessions, "read")
    assert re.fullmatch(r"bb_read_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", key)
    with sessions() as session:
        row = session.scalar(select(ApiKey))
        assert row is not None
    assert key.startswith(row.prefix + "_")
    assert key not in row.key_hash and len(row.key_hash) == 64


@pytest.mark.parametrize(
    "header", [None, "Bearer nope", "Bearer bb_write_00000000_forged", "Basic dXNlcjpwYXNz"]
)
def test_requests_without_a_valid_key_get_401(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    answer = client.get("/api/v1/products", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_read_keys_cannot_write_and_revoked_keys_cannot_do_anything(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    reader = make_key(sessions, "read")
    auth = {"Authorization": f"Bearer {reader}"}
    assert client.get("/api/v1/products", headers=auth).status_code == 200
    refused = client.post("/api/v1/products", headers=auth, json={"sku": "X"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    with write_session(sessions) as session:
        assert revoke(session, reader[: len("bb_read_") + 8])
    assert client.get("/api/v1/products", headers=auth).status_code == 401


def test_product_lifecycle_and_pagination(api: TestClient) -> None:
    created = new_product(api, title='Mug "<Deluxe>"', description="Hand thrown.")
    assert created["price"] == {"amount": 2400, "currency": "USD", "decimal": "24.00"}
    assert created["stock"] == {"on_hand": 5, "reserved": 0, "available": 5}
    duplicate = api.post(
        "/api/v1/products", json={"sku": "MUG-01", "title": "x", "price": "1.00", "currency": "USD"}
    )
    assert duplicate.status_code == 409
    for n in range(4):
        new_product(api, f"CUP-{n}")
    first = api.get("/api/v1/products", params={"limit": 2}).json()
    assert [p["sku"] for p in first["data"]] == ["MUG-01", "CUP-0"]
    rest = api.get("/api/v1/products", params={"limit": 10, "cursor": first["next_cursor"]}).json()
    assert [p["sku"] for p in rest["data"]] == ["CUP-1", "CUP-2", "CUP-3"]
    assert rest["next_cursor"] is None
    changed = api.patch("/api/v1/products/MUG-01", json={"price_amount": 2600, "title": "Mug"})
    assert changed.json()["price"]["amount"] == 2600 and changed.json()["title"] == "Mug"
    assert api.patch("/api/v1/products/MUG-01", json={"stock": 9}).status_code == 422
    archived = api.delete("/api/v1/products/MUG-01").json()
    assert archived["active"] is False
    listed = api.get("/api/v1/products").json()["data"]
    assert "MUG-01" not in [p["sku"] for p in listed]
    assert api.get("/api/v1/products/NOPE").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"sku": "bad sku", "title": "t", "price": "1", "currency": "USD"},
            "sku 'bad sku' may use",
        ),
        ({"sku": "A", "title": "t", "price": "1.234", "currency": "USD"}, "more decimals"),
        ({"sku": "A", "title": "t", "price": "1", "currency": "XXQ"}, "ISO 4217"),
        ({"sku": "A", "title": "t", "currency": "USD"}, "price"),
        ({"sku": "A", "title": "t", "price_amount": -1, "currency": "USD"}, "price_amount"),
        ({"sku": "A", "title": "t", "price": "1", "currency": "USD", "colour": "red"}, "colour"),
    ],
)
def test_malformed_products_get_a_clear_422(api: TestClient, body: dict, message: str) -> None:
    answer = api.post("/api/v1/products", json=body)
    assert answer.status_code == 422
    assert message in answer.json()["error"]["message"]
    assert api.get("/api/v1/products").json()["data"] == []


def test_not_json_is_a_422(api: TestClient) -> None:
    answer = api.post("/api/v1/products", content=b"{nope", headers={"content-type": "text/plain"})
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_request"


def test_stock_is_set_adjusted_and_never_below_what_checkouts_hold(
    api: TestClient, client: TestClient, sessions: sessionmaker[Session]
) -> None:

    new_product(api)
    assert api.post("/api/v1/products/MUG-01/stock", json={"on_hand": 8}).json()["stock"] == {
        "on_hand": 8,
        "reserved": 0,
        "available": 8,
    }
    assert (
        api.post("/api/v1/products/MUG-01/stock", json={"delta": -3}).json()["stock"]["on_hand"]
        == 5
    )
    set_stock(sessions, "MUG-01", reserved=4)  # a checkout in progress holds 4
    refused = api.post("/api/v1/products/MUG-01/stock", json={"on_hand": 3})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "out_of_stock"
    assert api.post("/api/v1/products/MUG-01/stock", json={"delta": -2}).status_code == 409
    assert api.post("/api/v1/products/MUG-01/stock", json={"on_hand": 4}).status_code == 200
    both = api.post("/api/v1/products/MUG-01/stock", json={"on_hand": 4, "delta": 1})
    assert both.status_code == 422


def test_bulk_stock_sync_is_all_or_nothing(api: TestClient) -> None:
    new_product(api, "A")
    new_product(api, "B")
    done = api.post(
        "/api/v1/stock", json={"items": [{"sku": "A", "on_hand": 50}, {"sku": "B", "delta": 2}]}
    )
    assert [p["stock"]["on_hand"] for p in done.json()["data"]] == [50, 7]
    failed = api.post(
        "/api/v1/stock", json={"items": [{"sku": "A", "on_hand": 1}, {"sku": "NOPE", "delta": 1}]}
    )
    assert failed.status_code == 404
    assert api.get("/api/v1/products/A").json()["stock"]["on_hand"] == 50, "nothing half-done"


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(
    api: TestClient,
) -> None:
    new_product(api)
    headers = {"Idempotency-Key": "pos-sync-0001"}
    first = api.post("/api/v1/products/MUG-01/stock", json={"delta": 3}, headers=headers)
    again = api.post("/api/v1/products/MUG-01/stock", json={"delta": 3}, headers=headers)
    assert first.json() == again.json() and again.headers["idempotent-replayed"] == "true"
    assert api.get("/api/v1/products/MUG-01").json()["stock"]["on_hand"] == 8, "applied once"
    other = api.post("/api/v1/products/MUG-01/stock", json={"delta": 4}, headers=headers)
    assert other.status_code == 409
    assert "different request" in other.json()["error"]["message"]
    # A failed request's answer is kept too: retrying does not suddenly succeed twice.
    bad = {"Idempotency-Key": "k2"}
    assert (
        api.post("/api/v1/products/NOPE/stock", json={"delta": 1}, headers=bad).status_code == 404
    )
    assert (
        api.post("/api/v1/products/NOPE/stock", json={"delta": 1}, headers=bad).status_code == 404
    )


def test_links_signed_or_short_with_prefill_kept_on_the_server(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    new_product(api)
    signed = api.post("/api/v1/links", json={"sku": "MUG-01", "source": "api", "expires_in": 60})
    assert signed.status_code == 201
    link = LinkSigner([SECRET]).verify(signed.json()["url"].rsplit("/", 1)[1])
    assert link.source == "api" and link.expires_at is not None
    short = api.post(
        "/api/v1/links",
        json={"sku": "MUG-01", "short": True, "email": "ana@example.com", "source": "messenger"},
    ).json()
    assert re.fullmatch(r"http://shop\.test/l/[A-Za-z0-9]{10}", short["short_url"])
    assert short["qr_png"] == short["short_url"] + "/qr.png"
    assert "ana" not in short["url"]
    with sessions() as session:
        stored = session.scalar(select(ShortLink))
        assert stored is not None and stored.email == "ana@example.com"
    assert api.post("/api/v1/links", json={"sku": "NOPE"}).status_code == 404
    assert api.post("/api/v1/links", json={"sku": "MUG-01", "email": "x"}).status_code == 422


def test_orders_list_filter_get_fulfill_and_refund(
    api: TestClient, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    new_product(api, stock=10)
    for source in ("instagram", "email", "instagram"):
        url = api.post("/api/v1/links", json={"sku": "MUG-01", "source": source}).json()["url"]
        pay(client, url)
    orders = api.get("/api/v1/orders", params={"source": "instagram", "status": "paid"}).json()
    assert len(orders["data"]) == 2
    number = orders["data"][0]["number"]
    one = api.get(f"/api/v1/orders/{number}").json()
    assert one["total"]["amount"] == 2400 and one["lines"][0]["sku"] == "MUG-01"
    assert one["email"] == "ana@example.com" and one["attribution"]["source"] == "instagram"
    paged = api.get("/api/v1/orders", params={"limit": 2}).json()
    assert len(paged["data"]) == 2 and paged["next_cursor"]
    rest = api.get("/api/v1/orders", params={"limit": 2, "cursor": paged["next_cursor"]}).json()
    assert len(rest["data"]) == 1 and rest["next_cursor"] is None
    # Newest first, like `buybutton orders list`; the pages neither overlap nor skip.
    with sessions() as session:
        newest_first = list(session.scalars(select(Order.number).order_by(Order.id.desc())))
    assert [o["number"] for o in paged["data"] + rest["data"]] == newest_first
    assert orders["data"][0]["number"] == newest_first[0]
    assert api.get("/api/v1/orders", params={"created_after": "yesterday"}).status_code == 422
    future = api.get("/api/v1/orders", params={"created_after": "2999-01-01T00:00:00Z"}).json()
    assert future["data"] == []
    fulfilled = api.post(f"/api/v1/orders/{number}/fulfill").json()
    assert fulfilled["fulfilled_at"] is not None
    assert api.post(f"/api/v1/orders/{number}/fulfill").json() == fulfilled, "idempotent"
    partial = api.post(f"/api/v1/orders/{number}/refund", json={"amount": 400}).json()
    assert (partial["status"], partial["refunded"]["amount"]) == ("paid", 400)
    full = api.post(f"/api/v1/orders/{number}/refund", json={}).json()
    assert (full["status"], full["refunded"]["amount"]) == ("refunded", 2400)
    again = api.post(f"/api/v1/orders/{number}/refund", json={})
    assert again.status_code == 409
    with sessions() as session:
        types = [e.type for e in session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))]
    assert types.count("order.paid") == 3
    assert types.count("order.fulfilled") == 1
    assert types.count("order.refunded") == 2


def test_stock_low_is_announced_when_a_sale_crosses_the_threshold(
    api: TestClient, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    new_product(api, stock=7)
    url = api.post("/api/v1/links", json={"sku": "MUG-01", "quantity": 2}).json()["url"]
    pay(client, url)  # 7 -> 5: crosses into low stock
    pay(client, url)  # 5 -> 3: already low, no second event
    with sessions() as session:
        lows = list(session.scalars(select(WebhookEvent).where(WebhookEvent.type == "stock.low")))
    assert len(lows) == 1 and '"available":5' in lows[0].payload


def test_every_route_is_documented_and_every_documented_path_is_routed(
    client: TestClient,
) -> None:
    from starlette.routing import Route

    doc = client.get("/api/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routed = {
        (route.path, method)
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route) and route.path.startswith("/api/v1")
        for method in (route.methods or ()) - {"HEAD"}
    }
    assert documented == routed


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)


def test_keys_command_creates_lists_and_revokes(
    cli_env: None, client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    from buybutton.cli import main

    assert main(["keys", "create", "--scope", "write", "--name", "erp sync"]) == 0
    out = capsys.readouterr()
    key = out.out.strip()
    assert key.startswith("bb_write_") and "only time" in out.err
    auth = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/products", headers=auth).status_code == 200
    assert main(["keys", "list"]) == 0
    listed = capsys.readouterr().out
    prefix = key[: len("bb_write_") + 8]
    assert prefix in listed and "active" in listed and key not in listed
    assert main(["keys", "revoke", prefix]) == 0
    assert (
        client.get("/api/v1/products", headers={"Authorization": f"Bearer {key}"}).status_code
        == 401
    )


def test_the_api_reference_is_generated_from_the_document() -> None:
    from pathlib import Path

    from buybutton_server.views.api.reference import render

    docs = Path(__file__).resolve().parents[1] / "docs" / "api.md"
    assert docs.read_text() == render(), (
        "run: python -m buybutton_server.views.api.reference > docs/api.md"
    )


BODY = {"sku": "A", "title": "t", "currency": "USD", "price": "1"}
PRODUCTS, MUG = "/api/v1/products", "/api/v1/products/MUG-01"


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("get", f"{PRODUCTS}?limit=0", None, "limit must be a whole number from 1 to 100."),
        ("get", f"{PRODUCTS}?limit=x", None, "limit must be a whole number from 1 to 100."),
        ("get", f"{PRODUCTS}?cursor=42", None, "cursor is not one this API gave out."),
        ("get", "/api/v1/orders?status=lost", None,
         "status must be 'pending', 'reserved', 'paid', 'failed'"),
        ("get", "/api/v1/orders?created_after=2026-01-01", None, "created_after needs a time zone"),
        ("post", PRODUCTS, [1], "The body must be a JSON object."),
        ("post", PRODUCTS, {**BODY, "title": None}, "title is required."),
        ("post", PRODUCTS, {**BODY, "title": "x" * 201},
         "title must be a string of at most 200 characters."),
        ("post", PRODUCTS, {**BODY, "price_amount": 1},
         'give exactly one of price (e.g. "24.90") or price_amount'),
        ("post", PRODUCTS, {**BODY, "stock": "3"},
         "stock must be a whole number from 0 to 1000000000."),
        ("post", PRODUCTS, {**BODY, "active": 1}, "active must be true or false."),
        ("post", PRODUCTS, {**BODY, "image_url": "ftp://x"},
         "image_url must be an https:// URL or a path starting with /"),
        ("patch", MUG, {"sku": "B", "stock": 1},
         "Unknown or read-only field(s): sku, stock. Stock changes go to /stock."),
        ("patch", MUG, {"price": "2.00"}, "price needs currency in the same request."),
        ("post", f"{MUG}/stock", {}, "Give on_hand (set) or delta (adjust), exactly one."),
        ("post", "/api/v1/stock", {"items": []}, "items must be a list of 1 to 1000 changes."),
        ("post", "/api/v1/stock", {"items": [{"on_hand": 1}]}, "items[0].sku is required."),
        ("post", "/api/v1/links", {"sku": "MUG-01", "short": True, "expires_in": 60},
         "Short links do not expire"),
        ("post", "/api/v1/webhook-endpoints", {"url": "https://x.example", "events": ["x.y"]},
         "events must list some of order.created, order.payment_failed, order.paid, "
         "order.canceled, order.refunded, order.fulfilled, "),
    ],
)  # fmt: skip
def test_refusals_name_the_field_and_the_rule(
    api: TestClient, method: str, path: str, body: object, message: str
) -> None:
    new_product(api)
    answer = api.request(method, path, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    assert message in answer.json()["error"]["message"]


def test_an_invalid_request_is_not_kept_under_its_idempotency_key(api: TestClient) -> None:
    """Like Stripe: a request refused before it ran keeps no answer, so the corrected request
    can use the same key."""
    new_product(api)
    headers = {"Idempotency-Key": "fix-and-retry"}
    assert api.post("/api/v1/products/MUG-01/stock", json={}, headers=headers).status_code == 422
    fixed = api.post("/api/v1/products/MUG-01/stock", json={"delta": 1}, headers=headers)
    assert fixed.status_code == 200 and fixed.json()["stock"]["on_hand"] == 6
    too_long = {"Idempotency-Key": "k" * 256}
    refused = api.post("/api/v1/products/MUG-01/stock", json={"delta": 1}, headers=too_long)
    assert refused.status_code == 422 and "Idempotency-Key" in refused.json()["error"]["message"]


def test_a_patch_changes_only_what_it_names(api: TestClient) -> None:
    new_product(api, variant_group="mugs", variant_label="Blue", description="Hand thrown.")
    changed = api.patch(
        "/api/v1/products/MUG-01", json={"price": "30.00", "currency": "eur", "variant_group": ""}
    ).json()
    assert changed["price"] == {"amount": 3000, "currency": "EUR", "decimal": "30.00"}
    assert changed["variant_group"] is None and changed["variant_label"] == "Blue"
    assert changed["description"] == "Hand thrown." and changed["stock"]["on_hand"] == 5


def test_stock_stays_inside_postgresqls_32_bit_on_hand(api: TestClient) -> None:
    """Issue 11 item 18: repeated deltas took on_hand past 2**31 - 1 (PostgreSQL: a 500)."""
    new_product(api, stock=0)
    stock = "/api/v1/products/MUG-01/stock"
    assert api.post(stock, json={"delta": 10**9}).status_code == 200
    refused = api.post(stock, json={"delta": 10**9})
    assert refused.status_code == 422, refused.text
    assert "cannot go above 1000000000" in refused.json()["error"]["message"]
    bulk = api.post("/api/v1/stock", json={"items": [{"sku": "MUG-01", "delta": 1}]})
    assert bulk.status_code == 422
    assert api.get("/api/v1/products/MUG-01").json()["stock"]["on_hand"] == 10**9
    assert api.post(stock, json={"delta": -(10**9)}).json()["stock"]["on_hand"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/v1/products", {"title": "Mug\x00"}, "title"),
        ("post", "/api/v1/products", {"description": "a\x00b"}, "description"),
        ("patch", "/api/v1/products/MUG-01", {"description": "\x00"}, "description"),
        ("patch", "/api/v1/products/MUG-01", {"variant_group": "g\x00"}, "variant_group"),
    ],
)
def test_api_strings_refuse_nul_characters(
    api: TestClient, method: str, path: str, body: dict[str, str], field: str
) -> None:
    """Issue 11 item 18: PostgreSQL cannot store U+0000; the API says so instead of a 500."""
    if method == "patch":
        new_product(api)
        sent = body
    else:
        sent = {"sku": "NEW-01", "title": "Mug", "price": "1.00", "currency": "USD", **body}
    answer = getattr(api, method)(path, json=sent)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["message"] == (
        f"{field} must not contain NUL characters (U+0000)."
    )


def test_api_queries_refuse_nul_characters(api: TestClient) -> None:
    answer = api.get("/api/v1/orders", params={"source": "blog\x00"})
    assert answer.status_code == 422, answer.text
    assert "source must not contain NUL" in answer.json()["error"]["message"]


def test_a_currency_change_needs_the_price_in_that_currency(api: TestClient) -> None:
    """Before: PATCH {"currency": "JPY"} turned EUR 5.00 into JPY 500."""
    new_product(api, price="5.00", currency="EUR")
    alone = api.patch("/api/v1/products/MUG-01", json={"currency": "JPY"})
    assert alone.status_code == 422
    assert "currency needs price or price_amount" in alone.json()["error"]["message"]
    unchanged = api.get("/api/v1/products/MUG-01").json()["price"]
    assert unchanged == {"amount": 500, "currency": "EUR", "decimal": "5.00"}
    both = api.patch("/api/v1/products/MUG-01", json={"currency": "JPY", "price": "800"})
    assert both.json()["price"] == {"amount": 800, "currency": "JPY", "decimal": "800"}
    amount = api.patch("/api/v1/products/MUG-01", json={"currency": "usd", "price_amount": 650})
    assert amount.json()["price"]["decimal"] == "6.50"


def test_the_per_order_maximum_is_set_through_the_api(api: TestClient) -> None:
    assert new_product(api)["max_per_order"] == 10
    changed = api.patch("/api/v1/products/MUG-01", json={"max_per_order": 2}).json()
    assert changed["max_per_order"] == 2
    for wrong in (0, 100):
        refused = api.patch("/api/v1/products/MUG-01", json={"max_per_order": wrong})
        assert refused.status_code == 422 and "max_per_order" in refused.json()["error"]["message"]
