"""Stripe settings and the provider's translation of Stripe's answers."""

from __future__ import annotations

import re

import pytest
import stripe

from buybutton.errors import ConfigurationError
from buybutton_server.payments import ChargeRequest, PaymentUnavailable
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
