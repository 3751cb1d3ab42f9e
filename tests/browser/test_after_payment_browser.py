"""Issue 14, "Done when", on an iPhone: pay from a demo post and find the receipt in a real
SMTP server (aiosmtpd on loopback) within a few seconds, with the page's order number and
totals; its link opens the order page; fulfilling with a tracking number sends the shipped
email; a return asked for from the order page, approved, received and refunded sends the
refund email and the signed return.requested, return.received and order.refunded webhooks.

The demo runs with its own background workers (mail and webhooks every second), so nothing
here sends by hand: what arrives is what a merchant's running shop sends."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import APIResponse, BrowserContext, Page, expect

from buybutton_server.db import write_session
from buybutton_server.domain import outbox
from buybutton_server.domain.api_keys import create_key
from tests.browser.conftest import Demo, checkout_ready, run_demo, screenshot
from tests.live_server import LiveServers, free_port
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.browser

WAIT = 8.0  # seconds: the workers run every second; "within a few seconds"
EVENTS = ["order.paid", "order.fulfilled", "return.requested", "return.received", "order.refunded"]


class Inbox:
    """What the SMTP server received, parsed."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(parsed)
        return "250 Message accepted"

    def wait_for(self, subject: Callable[[str], bool], within: float = WAIT) -> EmailMessage:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with self.lock:
                for message in self.received:
                    if subject(str(message["Subject"])):
                        return message
            time.sleep(0.1)
        seen = [str(m["Subject"]) for m in self.received]
        raise AssertionError(f"no such email within {within}s; got {seen}")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box, port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def mailing_demo(tmp_path: Path, inbox: tuple[Inbox, int]) -> Iterator[Demo]:
    """The demo with its mail going to the test SMTP server."""
    with run_demo(
        tmp_path, smtp_url=f"smtp://127.0.0.1:{inbox[1]}", mail_dir=str(tmp_path / "unused")
    ) as demo:
        yield demo


class Hooks:
    def __init__(self, receiver: Receiver, secret: str) -> None:
        self.receiver, self.secret = receiver, secret

    def verified(self) -> list[dict[str, Any]]:
        webhook = standardwebhooks.Webhook(self.secret)
        return [dict(webhook.verify(r.body, r.headers)) for r in list(self.receiver.received)]

    def wait_for(self, event_type: str, within: float = WAIT) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for event in self.verified():
                if event["type"] == event_type:
                    return event
            time.sleep(0.1)
        seen = [e["type"] for e in self.verified()]
        raise AssertionError(f"no signed {event_type} within {within}s; got {seen}")


@pytest.fixture
def hooks(mailing_demo: Demo) -> Iterator[Hooks]:
    receiver, port = Receiver(), free_port()
    with LiveServers([(receiver.app(), port)]):
        with write_session(mailing_demo.sessions) as session:
            endpoint = outbox.create_endpoint(session, f"http://127.0.0.1:{port}/hook", EVENTS)
            secret = str(endpoint.secret)
        yield Hooks(receiver, secret)


class Api:
    def __init__(self, page: Page, demo: Demo) -> None:
        with write_session(demo.sessions) as session:
            _, key = create_key(session, "write", "browser test")
        self.page, self.base = page, f"{demo.shop}/api/v1"
        self.headers = {"Authorization": f"Bearer {key}"}

    def _ok(self, answer: APIResponse) -> dict[str, Any]:
        assert answer.ok, f"{answer.status} {answer.text()}"
        return dict(answer.json())

    def get(self, path: str) -> dict[str, Any]:
        return self._ok(self.page.request.get(self.base + path, headers=self.headers))

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.page.request.post(self.base + path, headers=self.headers, data=body or {})
        return self._ok(answer)


def assert_no_axe_violations(page: Page, name: str) -> None:
    found = [(v["id"], v["help"]) for v in Axe().run(page).response["violations"]]
    assert found == [], f"axe on {name}: {found}"


def page_amounts(page: Page) -> dict[str, str]:
    """The order page's totals as the shopper reads them."""
    ids = {"subtotal": "#order-subtotal", "shipping": "#order-shipping", "total": "#order-total"}
    if page.locator("#order-tax").count():
        ids["tax"] = "#order-tax"
    return {name: page.locator(selector).inner_text().strip() for name, selector in ids.items()}


def test_after_the_payment_mail_links_returns_and_refunds(
    phone: BrowserContext, mailing_demo: Demo, inbox: tuple[Inbox, int], hooks: Hooks
) -> None:
    demo, box = mailing_demo, inbox[0]
    # Pay from the post: the grinder's button, then the wallet (its Californian address).
    page = phone.new_page()
    page.goto(demo.post)
    page.locator('a[data-buybutton-sku="GRINDER-02"]').tap()
    checkout_ready(page)
    page.locator("#pay-wallet").tap()
    expect(page.locator(".done h1")).to_contain_text("Thank you")
    number = page.locator(".order-number").inner_text().strip()
    shown = page_amounts(page)
    assert set(shown) == {"subtotal", "shipping", "tax", "total"}  # CA sales tax on top
    started = time.monotonic()

    # The receipt, over SMTP, within a few seconds: the page's number and totals.
    receipt = box.wait_for(lambda s: number in s and "receipt" in s.lower())
    assert time.monotonic() - started < WAIT
    assert receipt["To"] == "wallet.shopper@example.com"
    body = text_of(receipt)
    assert number in body
    for name, amount in shown.items():
        assert amount in body, f"the receipt lacks the page's {name} {amount}"
    link = re.search(r"Your order: (\S+)", body)
    assert link and link[1].startswith(demo.shop + "/o/"), body

    # Its link opens the order page on the phone.
    mine = phone.new_page()
    mine.goto(link[1])
    expect(mine.locator(".order-number")).to_have_text(number)
    assert page_amounts(mine) == shown
    screenshot(mine, "order-page-totals-iphone13")
    assert_no_axe_violations(mine, "the order page")

    # Fulfilled with a tracking number (API): the shipped email.
    api = Api(mine, demo)
    fulfilled = api.post(
        f"/orders/{number}/fulfill", {"carrier": "DHL", "tracking_number": "JD014600006281"}
    )
    assert fulfilled["tracking"]["number"] == "JD014600006281"
    shipped = box.wait_for(lambda s: number in s and "on its way" in s)
    assert "JD014600006281" in text_of(shipped)

    # A return asked for from the order page.
    mine.reload()
    mine.locator("#request-return").tap()
    expect(mine.locator("#return-title")).to_be_visible()
    quantity = mine.locator("#return-form input[type=number]").first
    quantity.fill("1")
    mine.locator("#return-reason").select_option("changed_mind")
    mine.locator("#return-note").fill("The burrs are too coarse for my taste.")
    screenshot(mine, "return-request-iphone13")
    assert_no_axe_violations(mine, "the return request page")
    mine.locator("#return-form button[type=submit]").tap()
    expect(mine.locator("#return-sent")).to_be_visible()
    requested = hooks.wait_for("return.requested")

    # The merchant approves, receives and refunds it (API).
    [asked] = api.get(f"/orders/{number}/returns")["data"]
    assert asked["status"] == "requested"
    api.post(f"/returns/{asked['id']}/approve")
    api.post(f"/returns/{asked['id']}/receive")
    refunded = api.post(f"/returns/{asked['id']}/refund", {})
    assert refunded["status"] == "refunded" and refunded["refund"]["amount"] > 0

    refund_mail = box.wait_for(lambda s: number in s and "refund" in s.lower())
    refund_text = text_of(refund_mail)
    assert number in refund_text
    received = hooks.wait_for("return.received")
    order_refunded = hooks.wait_for("order.refunded")
    for event in (requested, received):
        assert str(event["data"]["return"]["order_number"]) == number
    assert order_refunded["data"]["order"]["number"] == number
    assert order_refunded["data"]["order"]["refunded"]["amount"] == refunded["refund"]["amount"]
    # Every one of them signed (verified above) and each sent once.
    kinds = [e["type"] for e in hooks.verified()]
    for kind in ("order.paid", "return.requested", "return.received", "order.refunded"):
        assert kinds.count(kind) == 1, kinds

    # The shopper sees the refund on the return page.
    mine.goto(link[1])
    mine.locator("#request-return").tap()
    expect(mine.locator(".return-row")).to_have_count(1)
    expect(mine.locator(".return-status")).to_contain_text("Refunded")


def test_find_my_order_page_on_a_phone(phone: BrowserContext, demo: Demo) -> None:
    page = phone.new_page()
    page.goto(f"{demo.shop}/orders/find")
    expect(page.locator("h1")).to_be_visible()
    screenshot(page, "orders-find-iphone13")
    assert_no_axe_violations(page, "/orders/find")
