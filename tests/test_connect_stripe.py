"""Stripe Connect through stripe-python with a recording HTTP client (issue 17).

localstripe has no Connect, so these tests give stripe-python an HTTP client that answers
like Stripe's documented responses and keeps every request: the tests assert the exact
parameters and idempotency keys sent. Nothing here ran against a real Stripe account
(docs/commissions.md says what that leaves unexercised).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe

from buybutton_server.payments.base import (
    AccountEvent,
    BalanceInsufficient,
    ChargeRequest,
    TransferRequest,
)
from buybutton_server.payments.stripe_provider import StripePaymentProvider


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: dict[str, str]
    idempotency_key: str | None
    account_header: str | None


class StripeRecorder(stripe.HTTPClient):
    """Answers like api.stripe.com for the calls buybutton makes, and records them."""

    name = "recorder"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.transfer_data: dict[str, Any] | None = None
        self.refuse_reversals = False
        self.account_state = {"charges_enabled": True, "payouts_enabled": True}

    def request(
        self,
        method: str,
        url: str,
        headers: Any,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> tuple[str, int, dict[str, str]]:
        parts = urlsplit(url)
        raw = post_data.decode() if isinstance(post_data, bytes) else (post_data or parts.query)
        params = dict(parse_qsl(raw or ""))
        headers = dict(headers or {})
        self.calls.append(
            Call(
                method.upper(),
                parts.path,
                params,
                headers.get("Idempotency-Key"),
                headers.get("Stripe-Account"),
            )
        )
        status, body = self._answer(method.upper(), parts.path, params)
        return json.dumps(body), status, {"request-id": f"req_{len(self.calls)}"}

    def request_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        return None

    def _answer(self, method: str, path: str, params: dict[str, str]) -> tuple[int, Any]:
        n = len(self.calls)
        if path == "/v1/payment_intents" and method == "POST":
            intent = {"id": "pi_1", "object": "payment_intent", "status": "requires_confirmation"}
            return 200, {**intent, "amount": int(params["amount"]), "currency": params["currency"]}
        if path.startswith("/v1/payment_intents/pi_1"):
            return 200, {
                "id": "pi_1",
                "object": "payment_intent",
                "status": "succeeded",
                "latest_charge": "ch_1",
                "transfer_data": self.transfer_data,
            }
        if path == "/v1/transfers":
            return 200, {"id": f"tr_{n}", "object": "transfer", "amount": int(params["amount"])}
        if path.startswith("/v1/transfers/") and path.endswith("/reversals"):
            if self.refuse_reversals:
                return 400, {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "balance_insufficient",
                        "message": "Insufficient funds in the connected account's balance.",
                    }
                }
            return 200, {"id": f"trr_{n}", "object": "transfer_reversal"}
        if path == "/v1/refunds":
            return 200, {"id": f"re_{n}", "object": "refund", "status": "succeeded"}
        if path == "/v1/accounts":
            return 200, {"id": "acct_new1", "object": "account", "charges_enabled": False}
        if path.startswith("/v1/accounts/"):
            account = path.rsplit("/", 1)[1]
            return 200, {"id": account, "object": "account", **self.account_state}
        if path == "/v1/account_links":
            return 200, {
                "object": "account_link",
                "url": f"https://connect.stripe.com/setup/e/{params['account']}/x{n}",
                "expires_at": int(time.time()) + 300,
            }
        return 404, {"error": {"type": "invalid_request_error", "message": f"no {path}"}}

    def posted(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == "POST" and c.path == path]


def connect_provider(recorder: StripeRecorder, **options: Any) -> StripePaymentProvider:
    return StripePaymentProvider(
        secret_key="sk_test_connect",
        publishable_key="pk_test_connect",
        webhook_secret="whsec_platform",
        http_client=recorder,
        max_network_retries=0,
        connect=True,
        **options,
    )


def test_a_destination_charge_sends_the_fee_and_the_destination() -> None:
    recorder = StripeRecorder()
    provider = connect_provider(recorder)
    connect = {
        "application_fee_amount": 1200,
        "transfer_data": {"destination": "acct_b"},
        "transfer_group": "order_BB-1",
    }
    result = provider.charge(
        ChargeRequest(
            amount=6000,
            currency="EUR",
            idempotency_key="attempt-1",
            method="card",
            details={"payment_method": "pm_card_visa"},
            connect=connect,
        )
    )
    assert result.succeeded
    create = recorder.posted("/v1/payment_intents")[0]
    assert create.params["application_fee_amount"] == "1200"
    assert create.params["transfer_data[destination]"] == "acct_b"
    assert create.params["transfer_group"] == "order_BB-1"
    assert create.idempotency_key == "bb-pay-attempt-1"


def test_a_refund_of_a_destination_charge_reverses_the_transfer_and_the_fee() -> None:
    recorder = StripeRecorder()
    recorder.transfer_data = {"destination": "acct_b"}
    connect_provider(recorder).refund("pi_1", amount=2400, idempotency_key="k1")
    refund = recorder.posted("/v1/refunds")[0]
    assert refund.params == {
        "payment_intent": "pi_1",
        "amount": "2400",
        "reverse_transfer": "true",
        "refund_application_fee": "true",
    }
    assert refund.idempotency_key == "bb-refund-k1"


def test_a_refund_of_a_plain_charge_asks_no_reversal() -> None:
    recorder = StripeRecorder()
    connect_provider(recorder).refund("pi_1", amount=100, idempotency_key="k2")
    assert recorder.posted("/v1/refunds")[0].params == {"payment_intent": "pi_1", "amount": "100"}


def test_accounts_ask_for_card_payments_and_transfers_and_links_are_fresh() -> None:
    recorder = StripeRecorder()
    provider = connect_provider(recorder)
    account = provider.create_account(email="b@example.com", kind="seller", idempotency_key="p1")
    create = recorder.posted("/v1/accounts")[0]
    assert account == "acct_new1"
    assert create.params["type"] == "express"
    assert create.params["capabilities[card_payments][requested]"] == "true"
    assert create.params["capabilities[transfers][requested]"] == "true"
    assert create.idempotency_key == "bb-acct-p1"
    first = provider.account_link(account, refresh_url="https://s/r", return_url="https://s/b")
    second = provider.account_link(account, refresh_url="https://s/r", return_url="https://s/b")
    assert first != second  # one per click
    link = recorder.posted("/v1/account_links")[0]
    assert link.params == {
        "account": "acct_new1",
        "refresh_url": "https://s/r",
        "return_url": "https://s/b",
        "type": "account_onboarding",
    }


def test_a_transfer_is_tied_to_the_charge_and_grouped_by_order() -> None:
    recorder = StripeRecorder()
    reference = connect_provider(recorder).transfer(
        TransferRequest(
            amount=4000,
            currency="EUR",
            destination="acct_b",
            transfer_group="order_BB-1",
            source_payment="pi_1",
            idempotency_key="pub-7",
            metadata={"order": "BB-1"},
        )
    )
    assert reference.startswith("tr_")
    sent = recorder.posted("/v1/transfers")[0]
    assert sent.params == {
        "amount": "4000",
        "currency": "eur",
        "destination": "acct_b",
        "transfer_group": "order_BB-1",
        "source_transaction": "ch_1",
        "metadata[order]": "BB-1",
    }
    assert sent.idempotency_key == "bb-tr-pub-7"


def test_a_reversal_the_balance_cannot_cover_is_said_so() -> None:
    recorder = StripeRecorder()
    recorder.refuse_reversals = True
    with pytest.raises(BalanceInsufficient):
        connect_provider(recorder).reverse_transfer("tr_9", amount=10, idempotency_key="r1")
    assert recorder.posted("/v1/transfers/tr_9/reversals")[0].idempotency_key == "bb-trr-r1"


def _signed(body: bytes, secret: str) -> str:
    stamp = int(time.time())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


def test_account_updated_from_the_connect_endpoint_is_read() -> None:
    provider = connect_provider(StripeRecorder(), connect_webhook_secret="whsec_connect")
    body = json.dumps(
        {
            "id": "evt_a1",
            "object": "event",
            "type": "account.updated",
            "account": "acct_b",
            "data": {
                "object": {
                    "id": "acct_b",
                    "object": "account",
                    "charges_enabled": True,
                    "payouts_enabled": False,
                    "details_submitted": True,
                }
            },
        }
    ).encode()
    event = provider.verify_webhook(body, _signed(body, "whsec_connect"))
    assert isinstance(event, AccountEvent)
    assert event.account.id == "acct_b" and not event.account.payouts_enabled
