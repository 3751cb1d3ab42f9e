"""The Python SDK against the API: a merchant with only the SDK imports a catalog, sets stock,
mints a link, receives a signed order.paid when a shopper pays, and fetches the order."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    OutOfStockError,
    PermissionDenied,
    RateLimitedError,
    ServerError,
)
from buybutton_server.db import write_session
from buybutton_server.domain.api_keys import create_key
from buybutton_server.domain.outbox import Sender, deliver_due
from tests.conftest import BASE_URL, GOOD_CARD, SHOPPER, attempt_key
from tests.live_server import LiveServers, free_port
from tests.webhook_receiver import Receiver


def key(sessions: sessionmaker[Session], scope: str = "write") -> str:
    with write_session(sessions) as session:
        return create_key(session, scope)[1]


def sdk(client: TestClient, api_key: str, **options: object) -> BuyButton:
    # Starlette's TestClient is an httpx.Client: the SDK runs unchanged against the app.
    return BuyButton(base_url=BASE_URL, api_key=api_key, http_client=client, **options)  # type: ignore[arg-type]


def test_a_merchant_with_only_the_sdk_gets_paid_orders_into_their_backend(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    bb = sdk(client, key(sessions))
    products = bb.import_catalog(
        [
            {"sku": "MUG-01", "title": "Stoneware Mug", "price": "24.00", "currency": "USD"},
            {"sku": "CUP-02", "title": "Cup", "price": "12.50", "currency": "USD", "stock": 3},
        ]
    )
    assert [p.sku for p in products] == ["MUG-01", "CUP-02"]
    # Importing again updates in place.
    again = bb.import_catalog([{"sku": "CUP-02", "title": "Espresso Cup", "stock": 4}])
    assert (again[0].title, again[0].on_hand) == ("Espresso Cup", 4)
    assert bb.set_stock("MUG-01", 10).available == 10
    assert bb.adjust_stock("MUG-01", -1).on_hand == 9

    hook = Receiver()
    port = free_port()
    with LiveServers([(hook.app(), port)]):
        endpoint = bb.create_webhook_endpoint(f"http://127.0.0.1:{port}/hook", ["order.paid"])
        assert endpoint.secret is not None
        receiver = BuyButton(base_url=BASE_URL, webhook_secrets=[endpoint.secret])

        link = bb.create_link("MUG-01", short=True, source="instagram", campaign="spring")
        assert link.short_url and re.search(r"/l/[A-Za-z0-9]{10}$", link.short_url)

        # A shopper taps the link and pays.
        page = client.get(link.url.removeprefix(BASE_URL))
        assert page.status_code == 200 and "Stoneware Mug" in page.text
        client.post(page.url.path, data={"attempt": attempt_key(page.text), **SHOPPER, **GOOD_CARD})
        deliver_due(sessions, Sender(allow_private=True))

    [delivery] = hook.received
    event = receiver.verify_webhook(delivery.body, delivery.headers)
    assert event.type == "order.paid" and event.order is not None
    order = bb.get_order(event.order.number)
    assert (order.status, order.total_amount, order.source, order.campaign) == (
        "paid",
        2400,
        "instagram",
        "spring",
    )
    assert order.lines[0].sku == "MUG-01"
    assert [o.number for o in bb.iter_orders(status="paid")] == [order.number]
    assert bb.get_product("MUG-01").on_hand == 8


def test_sdk_errors_are_typed(client: TestClient, sessions: sessionmaker[Session]) -> None:
    bb = sdk(client, key(sessions))
    with pytest.raises(NotFoundError):
        bb.get_order("BB-NOPE")
    bb.create_product("MUG-01", title="Mug", price="24.00", currency="USD", stock=2)
    with pytest.raises(ConflictError):
        bb.create_product("MUG-01", title="Mug", price="24.00", currency="USD")
    with pytest.raises(InvalidRequestError, match="ISO 4217"):
        bb.create_product("X-1", title="X", price="1.00", currency="QQQ")
    with pytest.raises(OutOfStockError):
        bb.adjust_stock("MUG-01", -5)
    with pytest.raises(PermissionDenied):
        sdk(client, key(sessions, "read")).set_stock("MUG-01", 1)
    with pytest.raises(AuthenticationError):
        sdk(client, "bb_write_forged00_x").get_product("MUG-01")


def test_webhook_endpoints_can_be_disabled_enabled_and_deleted_from_the_sdk(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    bb = sdk(client, key(sessions))
    made = bb.create_webhook_endpoint("http://127.0.0.1:9/hook")
    assert bb.disable_webhook_endpoint(made.id).enabled is False
    assert bb.enable_webhook_endpoint(made.id).enabled is True
    bb.delete_webhook_endpoint(made.id)
    with pytest.raises(NotFoundError):
        bb.disable_webhook_endpoint(made.id)
    with pytest.raises(NotFoundError):
        bb.delete_webhook_endpoint(made.id)


def _flaky(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return httpx.Client(transport=httpx.MockTransport(handle))


PRODUCT = {
    "sku": "MUG-01",
    "title": "Mug",
    "price": {"amount": 2400, "currency": "USD", "decimal": "24.00"},
    "stock": {"on_hand": 5, "reserved": 0, "available": 5},
    "active": True,
}


def test_writes_are_retried_with_the_same_idempotency_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("buybutton.api.time.sleep", lambda seconds: None)
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(503, json={"error": {"code": "service_unavailable", "message": "x"}}),
        httpx.Response(
            429,
            headers={"Retry-After": "1"},
            json={"error": {"code": "rate_limited", "message": "x"}},
        ),
        httpx.Response(200, json=PRODUCT),
    ]
    bb = BuyButton(base_url=BASE_URL, api_key="bb_write_x", http_client=_flaky(answers, seen))
    assert bb.set_stock("MUG-01", 5).on_hand == 5
    keys = {r.headers["idempotency-key"] for r in seen}
    assert len(seen) == 3 and len(keys) == 1, "one write, retried safely"
    assert json.loads(seen[0].content) == {"on_hand": 5}


def test_retries_give_up_with_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("buybutton.api.time.sleep", lambda seconds: None)
    seen: list[httpx.Request] = []
    limited = httpx.Response(
        429,
        headers={"Retry-After": "7"},
        json={"error": {"code": "rate_limited", "message": "slow down"}},
    )
    bb = BuyButton(
        base_url=BASE_URL, api_key="bb_read_x", http_client=_flaky([limited] * 4, seen), retries=3
    )
    with pytest.raises(RateLimitedError) as raised:
        bb.get_product("MUG-01")
    assert raised.value.retry_after == 7 and len(seen) == 4
    down = [httpx.Response(500, text="<html>oops</html>")]
    with pytest.raises(ServerError):
        BuyButton(base_url=BASE_URL, api_key="k", http_client=_flaky(down, [])).get_product("X")


def test_an_unreachable_server_is_one_line_naming_the_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nothing listens on the address: the error says where and what to check, in one line
    (the CLI prints it as ``buybutton: ...``), not httpx's errno text or a traceback."""
    monkeypatch.setattr("buybutton.api.time.sleep", lambda seconds: None)
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bb = BuyButton(base_url=f"http://127.0.0.1:{port}", api_key="bb_read_x", retries=1)
    with pytest.raises(ServerError) as raised:
        bb.get_product("MUG-01")
    message = raised.value.message
    assert message == (
        f"cannot reach the buybutton server at http://127.0.0.1:{port}: nothing answered "
        "there (is the server running, and is base_url right?)"
    )
    assert "\n" not in str(raised.value) and raised.value.__cause__ is None
