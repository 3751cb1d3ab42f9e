"""No secrets, card data or capability URLs in logs."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.logs import RedactCapabilities, redact_path
from tests.conftest import (
    GOOD_CARD,
    SECRET,
    SHOPPER,
    add_product,
    attempt_key,
    path_of,
)
from tests.stripe_support import SECRET_KEY, WEBHOOK_SECRET


def test_a_whole_checkout_logs_no_card_or_secret(
    stripe_client_app: TestClient,
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_product(sessions)
    caplog.set_level(logging.DEBUG)
    for app_client, extra in (
        (client, GOOD_CARD),
        (stripe_client_app, {"payment_method": "pm_card_visa"}),
    ):
        path = path_of(bb.checkout_link("MUG-01", email="ana@example.com"))
        app_client.post(
            path, data={"attempt": attempt_key(app_client.get(path).text), **SHOPPER, **extra}
        )
        app_client.cookies.delete("bb_bought")  # the same link again (item 8)
        app_client.post(
            path,
            data={
                "attempt": attempt_key(app_client.get(path).text),
                **SHOPPER,
                **GOOD_CARD,
                "card_number": "4000000000000002",
                "payment_method": "pm_card_chargeCustomerFail",
            },
        )
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert caplog.records  # the SDK and our code did log something
    for secret in (
        "4242 4242",
        "4242424242424242",
        "4000000000000002",
        SECRET,
        SECRET_KEY,
        WEBHOOK_SECRET,
    ):
        assert secret not in logged


def test_access_log_keeps_routes_not_capabilities() -> None:
    assert redact_path("/c/eyJzIjoiTVVHIn0.abc?x=1") == "/c/[redacted]"
    assert redact_path("/orders/Xy12ab34Cd56ef78Gh90ij/abandon") == "/orders/[redacted]/abandon"
    assert redact_path("/api/public/products/MUG-01") == "/api/public/products/MUG-01"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/c/secret-token", "1.1", 200),
        None,
    )
    assert RedactCapabilities().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /c/[redacted] HTTP/1.1" 200'


def test_set_password_links_are_not_logged() -> None:
    """Review F1: a reset or invitation link in the access log is a working sign-in."""
    from itsdangerous import URLSafeTimedSerializer

    from buybutton_server.db.models import AdminUser
    from buybutton_server.domain.password_reset import INVITE, RESET, SALT, make_token
    from buybutton_server.logs import redact_text

    keys = ("k" * 40,)
    user = AdminUser(id=7, email="owner@shop.example", password_hash="scrypt$" + "0" * 60)
    compressed = URLSafeTimedSerializer(list(keys), salt=SALT).dumps([7, "reset", "0" * 200])
    assert compressed.startswith(".")
    for token in (make_token(keys, user, RESET), make_token(keys, user, INVITE), compressed):
        path = "/admin/password-reset/" + token
        assert redact_path(path) == "/admin/password-reset/[redacted]"
        record = logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5000", "POST", path, "1.1", 303),
            None,
        )
        assert RedactCapabilities().filter(record)
        assert token not in record.getMessage()
        assert "/admin/password-reset/[redacted]" in record.getMessage()
        # anywhere in free text, with or without the path around it
        assert token not in redact_text(f"GET http://shop.test{path} failed")
        assert token not in redact_text(f"could not load {token!r}")
    # the form that asks for a link carries nothing secret and stays readable
    assert redact_path("/admin/password-reset") == "/admin/password-reset"
