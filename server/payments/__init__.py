"""Payment providers. ``make_provider`` picks one by the ``BUYBUTTON_PAYMENT_PROVIDER`` name."""

from __future__ import annotations

from buybutton.errors import ConfigurationError
from buybutton_server.payments.base import (
    ChargeRequest,
    ChargeResult,
    PaymentProvider,
    PaymentUnavailable,
)
from buybutton_server.payments.test_provider import TestPaymentProvider

__all__ = [
    "ChargeRequest",
    "ChargeResult",
    "PaymentProvider",
    "PaymentUnavailable",
    "TestPaymentProvider",
    "make_provider",
]


def make_provider(name: str) -> PaymentProvider:
    if name == "test":
        return TestPaymentProvider()
    raise ConfigurationError(f"BUYBUTTON_PAYMENT_PROVIDER {name!r} is not available")
