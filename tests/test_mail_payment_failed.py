"""The "payment failed" email (issue 14, item 1): a payment that was waiting on the shopper's
3-D Secure (``requires_action``) and then failed, or that the shopper's browser abandoned,
gets one email with a way back (a fresh checkout link for the same items) and the order's
signed link; other failures and holds that ran out send nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.tokens import LinkSigner
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import Order, utcnow
from buybutton_server.domain.orders import release_expired
from buybutton_server.domain.payment_events import apply_payment_event
from buybutton_server.domain.settlement import apply_failure, note_progress
from buybutton_server.payments import PaymentEvent, TestPaymentProvider
from tests.conftest import BASE_URL, SHOPPER, add_product
from tests.test_mail import messages
from tests.test_order_links import OLD_KEY, order_link_in, place, sent_bodies

SUBJECT = "buybutton shop: Your payment for order {} did not go through"


class ThreeDSecure(TestPaymentProvider):
    """The provider keeps saying the payment waits on the shopper (as Stripe does for a
    3-D Secure challenge nobody answered)."""

    def status(self, reference: str) -> Any:
        return "requires_action"


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "outbox-folder"


@pytest.fixture
def settings(database_url: str, mail_dir: Path) -> Settings:
    return Settings(
        secret_keys=(OLD_KEY,),
        database_url=database_url,
        base_url=BASE_URL,
        webhook_seconds=3600,
        mail_dir=str(mail_dir),
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, payments=ThreeDSecure()), base_url=BASE_URL) as shop:
        yield shop


def waiting_on_3ds(sessions: sessionmaker[Session], quantity: int = 2) -> Order:
    """A pending order whose payment stopped at 3-D Secure."""
    order = place(sessions, quantity=quantity)
    with write_session(sessions) as session:
        note_progress(session, order.id, "requires_action", reference=f"pi_{order.number}")
    return order


def failed_event(order: Order, event_id: str) -> PaymentEvent:
    return PaymentEvent(
        id=event_id,
        type="payment_intent.payment_failed",
        kind="failed",
        reference=f"pi_{order.number}",
        code="authentication_failed",
        message="Your bank could not confirm the payment.",
    )


def test_a_3ds_payment_that_fails_gets_one_email_with_a_way_back(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    mail_dir: Path,
) -> None:
    add_product(sessions, price="24.00", stock=5)
    order = waiting_on_3ds(sessions)
    # The provider says so twice (a retried webhook) and then with another event id.
    for event_id in ("evt_1", "evt_1", "evt_2"):
        apply_payment_event(sessions, "test", failed_event(order, event_id))
    with write_session(sessions) as session:  # and the sweeper's cancel comes late
        apply_failure(session, order.id, status="canceled", code=None, message=None)
    [queued] = messages(sessions, "payment_failed")
    assert queued.to_address == SHOPPER["email"] and queued.order_id == order.id
    assert queued.dedupe_key == f"payment_failed:{order.number}"

    text, html = sent_bodies(sessions, settings, mail_dir)[SUBJECT.format(order.number)]
    for body in (text, html):
        assert "Your bank could not confirm the payment." in body and "$48.00" in body
    assert order_link_in(text) == order_link_in(html)
    assert client.get(order_link_in(text), follow_redirects=False).status_code == 303
    # The way back: a fresh checkout link for the same items, signed like every link, with
    # no personal data in it, working for a week.
    match = re.search(r"http://shop\.test/c/([A-Za-z0-9_.\-]+)", text)
    assert match, text
    link = LinkSigner(settings.secret_keys).verify(match[1])
    assert link.lines == (("MUG-01", 2),) and link.email is None and link.name is None
    assert link.expires_at is not None
    assert 6 * 86400 < link.expires_at - utcnow().timestamp() <= 7 * 86400
    assert f"/c/{match[1]}" in html


def test_the_browser_abandoning_3ds_sends_the_email_once(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    order = waiting_on_3ds(sessions)
    for _ in range(2):
        answer = client.post(f"/orders/{order.public_id}/abandon")
        assert answer.json() == {"status": "canceled"}
    assert [m.order_id for m in messages(sessions, "payment_failed")] == [order.id]


def test_other_failures_and_expired_holds_send_nothing(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=10)
    declined = place(sessions)  # a card declined at once: the page said so already
    with write_session(sessions) as session:
        apply_failure(
            session, declined.id, status="failed", code="card_declined", message="Declined."
        )
    expired = waiting_on_3ds(sessions)  # the shopper walked away: the hold ran out
    later = utcnow() + timedelta(hours=2)
    assert release_expired(sessions, ThreeDSecure(), now=later) >= 1
    with sessions() as session:
        assert session.get_one(Order, expired.id).status == "canceled"
    assert messages(sessions, "payment_failed") == []
