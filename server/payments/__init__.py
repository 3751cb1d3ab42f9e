"""Payment providers. ``make_provider`` builds the one ``BUYBUTTON_PAYMENT_PROVIDER`` names.

Only ``payments.stripe_provider`` imports the ``stripe`` SDK, and only ``make_provider``
imports that module, when Stripe is the configured provider: a shop on the ``test`` provider
never loads ``stripe``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from buybutton.errors import ConfigurationError
from buybutton_server.payments.base import (
    ChargeRequest,
    ChargeResult,
    PaymentEvent,
    PaymentProvider,
    PaymentUnavailable,
    RefundResult,
    WebhookSignatureInvalid,
)
from buybutton_server.payments.test_provider import TestPaymentProvider

if TYPE_CHECKING:
    from buybutton_server.settings import Settings

__all__ = [
    "ChargeRequest",
    "ChargeResult",
    "PaymentEvent",
    "PaymentProvider",
    "PaymentUnavailable",
    "RefundResult",
    "TestPaymentProvider",
    "WebhookSignatureInvalid",
    "make_provider",
]


def make_provider(settings: Settings) -> PaymentProvider:
    if settings.payment_provider == "test":
        return TestPaymentProvider()
    if settings.payment_provider == "stripe":
        # Imported here, not at the top: the SDK loads only for shops that use it.
        from buybutton_server.payments.stripe_provider import StripePaymentProvider

        return StripePaymentProvider(
            secret_key=settings.stripe_secret_key,
            publishable_key=settings.stripe_publishable_key,
            webhook_secret=settings.stripe_webhook_secret,
            api_base=settings.stripe_api_base or None,
            js_url=settings.stripe_js_url,
            connect=settings.stripe_connect,
            connect_webhook_secret=settings.stripe_connect_webhook_secret or None,
        )
    raise ConfigurationError(
        f"BUYBUTTON_PAYMENT_PROVIDER {settings.payment_provider!r} is not available"
    )
