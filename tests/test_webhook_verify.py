"""Issue 11 item 17: the SDK's ``verify_webhook`` raises only ``WebhookVerificationError``,
however malformed the delivery (it raised ``TypeError``/``ValueError`` before)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from buybutton.api import verify_webhook
from buybutton.errors import WebhookVerificationError

SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()
NOW = 1_700_000_000
BODY = json.dumps({"type": "order.paid", "timestamp": "2023-11-14T22:13:20Z", "data": {}})


def _signed(
    body: str | bytes = BODY, msg_id: str = "msg_1", stamp: str = str(NOW)
) -> dict[str, str]:
    raw = body.encode() if isinstance(body, str) else body
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + raw, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }


def test_a_good_delivery_verifies() -> None:
    event = verify_webhook(BODY, _signed(), [SECRET], now=NOW)
    assert (event.id, event.type) == ("msg_1", "order.paid")


@pytest.mark.parametrize(
    "change",
    [
        {"webhook-timestamp": "²"},  # isdigit() but int() refuses it
        {"webhook-timestamp": "9" * 5000},  # past int()'s digit limit
        {"webhook-timestamp": "-5"},
        {"webhook-timestamp": ""},
        {"webhook-signature": "v1,é"},  # compare_digest: TypeError on non-ASCII str
        {"webhook-signature": "v1,\udcff"},
        {"webhook-signature": "v1"},
        {"webhook-signature": "v2,abc v1,"},
        {"webhook-id": "\udcff"},
    ],
)
def test_malformed_headers_raise_only_the_verification_error(change: dict[str, str]) -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, {**_signed(), **change}, [SECRET], now=NOW)


def test_a_malformed_secret_or_signed_body_raises_only_the_verification_error() -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, _signed(), ["whsec_abc"], now=NOW)  # bad base64 padding
    for body in ("[1]", "not json", '{"type": "x"}', "[" * 15000):
        with pytest.raises(WebhookVerificationError):
            verify_webhook(body, _signed(body), [SECRET], now=NOW)
    with pytest.raises(WebhookVerificationError):
        verify_webhook("\udcff", _signed(b"x"), [SECRET], now=NOW)
