"""The built-in ``test`` provider: takes no money and needs no keys.

Test cards behave like Stripe's: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined,
4000 0000 0000 9995 has insufficient funds, 4000 0000 0000 0069 is expired. Any future expiry
date and any CVC work. The simulated wallet stands in for Apple Pay and Google Pay: one tap,
and it shares the shopper's contact and shipping details.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date
from typing import Literal

from buybutton_server.payments.base import (
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    ConnectedAccount,
    PaymentEvent,
    RefundResult,
    TransferRequest,
    WebhookSignatureInvalid,
)
from buybutton_server.payments.messages import decline_message

DECLINES = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
}
SUCCESS_CARDS = frozenset({"4242424242424242", "5555555555554444"})

WALLET_CONTACT = {"email": "wallet.shopper@example.com", "name": "Wallet Shopper"}
# The wallet's sample address in the country the checkout form shows (a real wallet holds
# the shopper's own); any other country gets the US one.
WALLET_ADDRESSES: Mapping[str, Mapping[str, str]] = {
    "US": {
        "line1": "1 Market Street",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94105",
        "country": "US",
    },
    "DE": {
        "line1": "Unter den Linden 1",
        "city": "Berlin",
        "postal_code": "10117",
        "country": "DE",
    },
    "GB": {
        "line1": "10 Downing Street",
        "city": "London",
        "postal_code": "SW1A 2AA",
        "country": "GB",
    },
    "FR": {"line1": "1 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"},
    "PT": {
        "line1": "Rua de Santa Catarina 1",
        "city": "Porto",
        "postal_code": "4000-442",
        "country": "PT",
    },
}


def luhn_ok(number: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(number)):
        digit = int(char)
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _failed(code: str, message: str | None = None) -> ChargeResult:
    return ChargeResult(status="failed", code=code, message=message or decline_message(code))


# ``MM/YY``, ``MM / YY``, ``M/YY``, ``MM/YYYY``, or digits alone (``MMYY``, ``MMYYYY``) as a
# phone's number pad types them (it has no "/" key).
EXPIRY = re.compile(r"\s*(?:(\d{1,2})\s*/\s*(\d{2}|\d{4})|(\d{2})(\d{2}|\d{4}))\s*", re.ASCII)


def parse_expiry(text: str) -> tuple[int, int] | None:
    """``(month, four-digit year)`` of an expiry date as a shopper types it, or None."""
    match = EXPIRY.fullmatch(text or "")
    if not match:
        return None
    month, year = int(match[1] or match[3]), int(match[2] or match[4])
    if not 1 <= month <= 12:
        return None
    return month, year + 2000 if year < 100 else year


def _expiry_problem(text: str, today: date) -> ChargeResult | None:
    parsed = parse_expiry(text)
    if parsed is None:
        return _failed("invalid_expiry")
    month, year = parsed
    if (year, month) < (today.year, today.month):
        return _failed("expired_card")
    return None


class TestPaymentProvider:
    """Deterministic and stateless: the reference is derived from the idempotency key, so a
    retried charge yields the same reference, as a real provider's idempotency would."""

    __test__ = False  # not a pytest test class
    name = "test"
    calls_network = False
    settles_by_webhook = False
    webhook_signature_header = ""

    def charge(self, request: ChargeRequest) -> ChargeResult:
        reference = "test_" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:24]
        if request.method == "wallet":
            return ChargeResult(status="succeeded", reference=reference)
        number = re.sub(r"[\s-]", "", request.details.get("card_number", ""))
        if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_ok(number):
            return _failed("invalid_number")
        expiry = _expiry_problem(request.details.get("card_expiry", ""), date.today())
        if expiry:
            return expiry
        if not re.fullmatch(r"\d{3,4}", request.details.get("card_cvc", "").strip()):
            return _failed("invalid_cvc")
        if number in DECLINES:
            return _failed(DECLINES[number])
        if number in SUCCESS_CARDS:
            return ChargeResult(status="succeeded", reference=reference)
        return _failed(
            "test_mode", "This shop is in test mode: pay with the test card 4242 4242 4242 4242."
        )

    def status(self, reference: str) -> ChargeStatus | Literal["canceled"]:
        # Test charges settle inside charge(); one still pending never reached the provider.
        return "canceled"

    def cancel(self, reference: str) -> None:
        return None

    def refund(self, reference: str, *, amount: int, idempotency_key: str) -> RefundResult:
        return RefundResult(
            reference="test_re_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
        )

    def wallet_contact(self, country: str | None = None) -> Mapping[str, str]:
        address = WALLET_ADDRESSES.get((country or "").upper(), WALLET_ADDRESSES["US"])
        return {**WALLET_CONTACT, **address}

    def page_settings(self) -> Mapping[str, str]:
        return {}

    def content_security_policy(self) -> Mapping[str, list[str]]:
        return {}

    def verify_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent | None:
        # Test charges settle inside charge(): no event from outside can be genuine.
        raise WebhookSignatureInvalid("The test provider sends no webhooks.")

    # -- payees: accounts are ready at once, transfers move nothing ---------------------

    def create_account(self, *, email: str | None, kind: str, idempotency_key: str) -> str:
        return "acct_test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]

    def account_link(self, account: str, *, refresh_url: str, return_url: str) -> str:
        return return_url

    def account(self, account: str) -> ConnectedAccount:
        return ConnectedAccount(
            id=account, charges_enabled=True, payouts_enabled=True, details_submitted=True
        )

    def transfer(self, request: TransferRequest) -> str:
        return "tr_test_" + hashlib.sha256(request.idempotency_key.encode()).hexdigest()[:20]

    def reverse_transfer(self, reference: str, *, amount: int, idempotency_key: str) -> str:
        return "trr_test_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]
