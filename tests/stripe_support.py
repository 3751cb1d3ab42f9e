"""Helpers for tests of the Stripe path: a localstripe server, settings, signed events."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import stripe

from tests.live_server import free_port

WEBHOOK_SECRET = "whsec_buybutton_tests"
PUBLISHABLE_KEY = "pk_test_buybutton"
SECRET_KEY = "sk_test_buybutton"


@contextmanager
def localstripe_server() -> Iterator[str]:
    """A fresh localstripe on a free loopback port (it keeps state in one temp file, so one at
    a time, started with --from-scratch)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/v1/customers", auth=(SECRET_KEY, ""), timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def stripe_client(base: str) -> stripe.StripeClient:
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": base})


def card_id(base: str, number: str) -> str:
    """What the stand-in Stripe.js hands our page for a typed card: a tokenized card id."""
    token = httpx.post(
        f"{base}/v1/tokens",
        data={
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
            "key": PUBLISHABLE_KEY,
        },
    ).json()
    return str(token["card"]["id"])


def authenticate(base: str, intent_id: str, client_secret: str, *, success: bool) -> None:
    """What the shopper's bank page does for 3-D Secure in the stand-in Stripe.js."""
    httpx.post(
        f"{base}/v1/payment_intents/{intent_id}/_authenticate?success={str(success).lower()}",
        json={"key": PUBLISHABLE_KEY, "client_secret": client_secret},
    ).raise_for_status()


def intent_event(event_id: str, kind: str, intent: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": f"payment_intent.{kind}",
        "created": int(time.time()),
        "data": {"object": intent},
    }


def signed(
    event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return payload.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}
