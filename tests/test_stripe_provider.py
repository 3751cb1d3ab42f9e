"""Stripe settings and the provider's translation of Stripe's answers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import stripe

from buybutton.errors import ConfigurationError
from buybutton_server.payments import (
    ChargeRequest,
    PaymentEvent,
    PaymentUnavailable,
    TestPaymentProvider,
    WebhookSignatureInvalid,
)
from buybutton_server.payments.stripe_provider import StripePaymentProvider
from buybutton_server.settings import Settings

STRIPE = {
    "BUYBUTTON_PAYMENT_PROVIDER": "stripe",
    "BUYBUTTON_STRIPE_SECRET_KEY": "sk_test_1",
    "BUYBUTTON_STRIPE_PUBLISHABLE_KEY": "pk_test_1",
    "BUYBUTTON_STRIPE_WEBHOOK_SECRET": "whsec_1",
}


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("BUYBUTTON_STRIPE_SECRET_KEY", "BUYBUTTON_STRIPE_SECRET_KEY is required when"),
        ("BUYBUTTON_STRIPE_PUBLISHABLE_KEY", "BUYBUTTON_STRIPE_PUBLISHABLE_KEY is required"),
        ("BUYBUTTON_STRIPE_WEBHOOK_SECRET", "BUYBUTTON_STRIPE_WEBHOOK_SECRET is required"),
    ],
)
def test_missing_stripe_setting_is_named(missing: str, message: str) -> None:
    env = {k: v for k, v in STRIPE.items() if k != missing}
    with pytest.raises(ConfigurationError, match=message):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BUYBUTTON_STRIPE_SECRET_KEY", "pk_test_1", "must start with sk_ or rk_"),
        ("BUYBUTTON_STRIPE_PUBLISHABLE_KEY", "sk_test_1", "must start with pk_"),
        ("BUYBUTTON_STRIPE_WEBHOOK_SECRET", "secret", "must start with whsec_"),
        ("BUYBUTTON_STRIPE_API_BASE", "ftp://x", "must be an http(s) URL"),
    ],
)
def test_wrong_stripe_setting_is_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(f"{name} {message}")):
        Settings.from_env({**STRIPE, name: value})


def test_stripe_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env({**STRIPE, "BUYBUTTON_STRIPE_SECRET_KEY": "sk_test_SECRET"})
    assert "sk_test_SECRET" not in repr(settings) and "whsec_1" not in repr(settings)


def provider() -> StripePaymentProvider:
    return StripePaymentProvider(
        secret_key="sk_test_1",
        publishable_key="pk_test_1",
        webhook_secret="whsec_1",
        api_base="http://127.0.0.1:9",
    )


REQUEST = ChargeRequest(
    amount=2400,
    currency="USD",
    idempotency_key="k" * 20,
    method="card",
    details={"payment_method": "pm_card_visa"},
)


@pytest.mark.parametrize(
    ("code", "decline_code", "message"),
    [
        ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
        ("expired_card", None, "Your card has expired."),
        ("incorrect_cvc", None, "The security code is not right."),
        ("card_declined", "generic_decline", "Your card was declined."),
        ("card_declined", "something_new", "Your card was declined."),
        ("weird_code", None, "Your payment did not go through."),
    ],
)
def test_card_errors_become_shopper_messages(
    code: str, decline_code: str | None, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stripe's test cards for these declines need real Stripe; localstripe only declines one
    way, so the translation is checked against the error objects the SDK raises."""
    stripe_provider = provider()
    body = {
        "error": {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": "raw Stripe text",
        }
    }

    def declined(**_: object) -> None:
        raise stripe.CardError("raw Stripe text", None, code, json_body=body, http_status=402)

    monkeypatch.setattr(stripe_provider.client.v1.payment_intents, "create", declined)
    result = stripe_provider.charge(REQUEST)
    assert result.status == "failed" and result.message is not None
    assert result.message.startswith(message)
    assert "raw Stripe text" not in result.message


def test_unreachable_stripe_is_payment_unavailable() -> None:
    stripe_provider = StripePaymentProvider(
        secret_key="sk_test_1",
        publishable_key="pk_test_1",
        webhook_secret="whsec_1",
        api_base="http://127.0.0.1:9",
        max_network_retries=0,
        timeout=2,
    )
    with pytest.raises(PaymentUnavailable):
        stripe_provider.charge(REQUEST)


def test_no_payment_method_means_no_request() -> None:
    result = provider().charge(
        ChargeRequest(
            amount=1,
            currency="USD",
            idempotency_key="k" * 20,
            method="card",
            details={"payment_method": "x"},
        )
    )
    assert (result.status, result.code) == ("failed", "missing_payment_method")


def test_real_stripe_csp_allows_its_frames() -> None:
    real = StripePaymentProvider(
        secret_key="sk_test_1", publishable_key="pk_test_1", webhook_secret="whsec_1"
    )
    assert real.content_security_policy() == {
        "script-src": ["https://js.stripe.com"],
        "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"],
        "connect-src": ["https://api.stripe.com", "https://js.stripe.com"],
    }


def test_stripe_webhook_events_are_provider_neutral() -> None:
    from tests.stripe_support import intent_event, signed

    intent = {
        "id": "pi_1",
        "object": "payment_intent",
        "status": "requires_payment_method",
        "metadata": {"order_public_id": "o" * 22},
        "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"},
    }
    body, headers = signed(intent_event("evt_1", "payment_failed", intent), secret="whsec_1")
    stripe_provider = provider()
    event = stripe_provider.verify_webhook(
        body, headers[stripe_provider.webhook_signature_header.title()]
    )
    assert event == PaymentEvent(
        id="evt_1",
        type="payment_intent.payment_failed",
        kind="failed",
        reference="pi_1",
        order_public_id="o" * 22,
        code="insufficient_funds",
        message="Your card has insufficient funds. Try another card.",
    )
    with pytest.raises(WebhookSignatureInvalid) as invalid:
        stripe_provider.verify_webhook(body, None)
    assert invalid.value.code == "invalid_signature"


def test_the_test_provider_accepts_no_webhook() -> None:
    with pytest.raises(WebhookSignatureInvalid):
        TestPaymentProvider().verify_webhook(b"{}", "t=1,v1=00")


def test_unreachable_stripe_is_the_servers_payment_unavailable() -> None:
    from buybutton_server import errors

    assert PaymentUnavailable is errors.PaymentUnavailable


def test_a_shop_on_the_test_provider_never_imports_stripe(tmp_path: Path) -> None:
    program = f"""
import sys
from starlette.testclient import TestClient
from buybutton_server import Settings, create_app
import buybutton_server.services.checkout, buybutton_server.services.payment_events

settings = Settings(
    secret_keys=("test-secret-key-0123456789abcdef-0123",),
    database_url="sqlite:///{tmp_path}/shop.sqlite3",
    base_url="http://shop.test",
)
with TestClient(create_app(settings), base_url="http://shop.test") as client:
    assert client.post("/webhooks/stripe", content=b"{{}}").status_code == 404
loaded = sorted(name for name in sys.modules if name.split(".")[0] == "stripe")
assert not loaded, loaded
assert "buybutton_server.payments.stripe_provider" not in sys.modules
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
