"""A dead database or an unexpected error: a clear answer, no stack trace, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.payments import ChargeRequest, ChargeResult, PaymentUnavailable
from buybutton_server.payments.test_provider import TestPaymentProvider
from tests.conftest import (
    BASE_URL,
    GOOD_CARD,
    SHOPPER,
    add_product,
    attempt_key,
    orders,
    path_of,
    product,
)


@pytest.mark.parametrize(
    "dead_url",
    [
        "sqlite:///{tmp}/no-such-dir/shop.sqlite3",
        "postgresql+psycopg://shop@/shop?host={tmp}/no-such-socket-dir&connect_timeout=2",
    ],
)
def test_dead_database_gives_503_page_and_json(
    dead_url: str, tmp_path: Path, bb: BuyButton
) -> None:
    settings = Settings(
        secret_keys=("test-secret-key-0123456789abcdef-0123",),
        database_url=dead_url.format(tmp=tmp_path),
        base_url=BASE_URL,
    )
    with TestClient(create_app(settings), base_url=BASE_URL) as client:
        page = client.get(path_of(bb.checkout_link("MUG-01")))
        assert page.status_code == 503
        assert "We can't take orders right now" in page.text  # our catalog's words
        assert "Traceback" not in page.text and "sql" not in page.text.lower()
        answer = client.get("/api/public/products/MUG-01")
        assert answer.status_code == 503
        assert answer.json() == {
            "error": {
                "code": "service_unavailable",
                "message": "The shop is having a technical problem. Nothing was charged. "
                "Please try again in a few minutes.",
            }
        }


class UnreachableProvider(TestPaymentProvider):
    def charge(self, request: ChargeRequest) -> ChargeResult:
        raise PaymentUnavailable("connection refused")


def test_unreachable_payment_provider_releases_stock(
    settings: Settings, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=2)
    with TestClient(
        create_app(settings, payments=UnreachableProvider()), base_url=BASE_URL
    ) as client:
        path = path_of(bb.checkout_link("MUG-01"))
        page = client.post(
            path, data={"attempt": attempt_key(client.get(path).text), **SHOPPER, **GOOD_CARD}
        )
    assert page.status_code == 503
    assert "Payments are not reachable right now" in page.text
    assert orders(sessions, "paid") == []
    assert (product(sessions).on_hand, product(sessions).reserved) == (2, 0)


class ExplodingProvider(TestPaymentProvider):
    def charge(self, request: ChargeRequest) -> ChargeResult:
        raise RuntimeError("bug in provider code")


def test_unexpected_error_is_a_plain_500_page(
    settings: Settings, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    app = create_app(settings, payments=ExplodingProvider())
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client:
        path = path_of(bb.checkout_link("MUG-01"))
        page = client.post(
            path, data={"attempt": attempt_key(client.get(path).text), **SHOPPER, **GOOD_CARD}
        )
    assert page.status_code == 500
    assert "Something went wrong" in page.text
    assert "RuntimeError" not in page.text and "Traceback" not in page.text
    assert orders(sessions, "paid") == []


def test_unknown_path_is_a_friendly_404(client: TestClient) -> None:
    page = client.get("/nothing-here")
    assert page.status_code == 404 and "Page not found" in page.text
    assert client.get("/api/nothing").json()["error"]["code"] == "not_found"
