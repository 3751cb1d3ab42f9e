"""Faults: a lost answer from Stripe, a worker killed mid-checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from buybutton import BuyButton
from buybutton_server.payments import ChargeRequest
from buybutton_server.payments.stripe_provider import StripePaymentProvider
from tests.conftest import SECRET, SHOPPER, add_product, attempt_key, orders, product
from tests.live_server import free_port
from tests.stripe_support import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET, stripe_client
from tests.test_commands import running, wait_for


class FlakyStripe(BaseHTTPRequestHandler):
    """Fails the first PaymentIntent request the way a dropped connection does, then
    answers; records the Idempotency-Key of each attempt."""

    keys: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.keys.append(self.headers.get("Idempotency-Key", ""))
        if len(self.keys) == 1:
            self.send_response(500)
            self.send_header("Stripe-Should-Retry", "true")
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"type": "api_error", "message": "try again"}}')
            return
        body = json.dumps(
            {
                "id": "pi_retried",
                "object": "payment_intent",
                "status": "succeeded",
                "client_secret": "pi_retried_secret_x",
                "last_payment_error": None,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


def test_a_retried_charge_reuses_its_idempotency_key() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyStripe)
    FlakyStripe.keys = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        provider = StripePaymentProvider(
            secret_key=SECRET_KEY,
            publishable_key=PUBLISHABLE_KEY,
            webhook_secret=WEBHOOK_SECRET,
            api_base=f"http://127.0.0.1:{server.server_address[1]}",
            max_network_retries=2,
        )
        result = provider.charge(
            ChargeRequest(
                amount=2400,
                currency="USD",
                idempotency_key="attempt-key-123456",
                method="card",
                details={"payment_method": "pm_card_visa"},
            )
        )
    finally:
        server.shutdown()
        server.server_close()
    assert result.status == "succeeded"
    # create (dropped, then retried with the same key), then confirm with its own key
    assert FlakyStripe.keys == ["bb-pay-attempt-key-123456"] * 2 + ["bb-confirm-attempt-key-123456"]


def test_worker_killed_after_stripe_charged_loses_nothing(
    database_url: str, sessions: sessionmaker[Session], localstripe: str, tmp_path: Path
) -> None:
    add_product(sessions, stock=3)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BUYBUTTON_DATABASE_URL": database_url,
        "BUYBUTTON_SECRET_KEYS": SECRET,
        "BUYBUTTON_BASE_URL": base,
        "BUYBUTTON_PAYMENT_PROVIDER": "stripe",
        "BUYBUTTON_STRIPE_SECRET_KEY": SECRET_KEY,
        "BUYBUTTON_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "BUYBUTTON_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "BUYBUTTON_STRIPE_API_BASE": localstripe,
        "BUYBUTTON_RESERVATION_SECONDS": "1",
        "BUYBUTTON_SWEEP_SECONDS": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    path = BuyButton(secret_keys=[SECRET], base_url=base).checkout_link("MUG-01").removeprefix(base)
    doomed = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("fault_server.py")), str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(f"{base}/healthz")
        key = attempt_key(httpx.get(base + path).text)
        form = {"attempt": key, "payment_method": "pm_card_visa", **SHOPPER}
        try:
            httpx.post(base + path, data=form, headers={"Accept": "application/json"})
            raise AssertionError("the worker should have died")
        except httpx.TransportError:
            pass  # the shopper's request died with the worker
        assert doomed.wait(timeout=10) == -9
    finally:
        if doomed.poll() is None:
            doomed.kill()
        assert doomed.stdout is not None
        doomed.stdout.close()
    [order] = orders(sessions)
    assert order.status == "pending" and product(sessions).reserved == 1

    # The shop comes back; the shopper's browser resubmits the same form.
    with running(["serve"], {**env, "BUYBUTTON_PORT": str(port)}, ready="Uvicorn running"):
        wait_for(f"{base}/healthz")
        deadline = time.monotonic() + 15
        while orders(sessions)[0].status == "pending" and time.monotonic() < deadline:
            time.sleep(0.1)
        again = httpx.post(base + path, data=form, headers={"Accept": "application/json"})
        assert again.json()["next"] == f"/orders/{order.public_id}"
    [order] = orders(sessions)
    assert order.status == "paid"  # the sweeper asked Stripe, which had taken the money
    assert (product(sessions).on_hand, product(sessions).reserved) == (2, 0)
    intents = [
        i
        for i in stripe_client(localstripe)
        .v1.payment_intents.list(params={"limit": 5})
        .auto_paging_iter()
        if i.to_dict()["metadata"].get("order_public_id") == order.public_id
    ]
    assert len(intents) == 1
