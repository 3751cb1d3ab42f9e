"""``/webhooks/stripe``: verified before parsed, applied once, convergent in any order."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.tokens import CheckoutLink
from buybutton_server.db import write_session
from buybutton_server.db.models import ProcessedEvent
from buybutton_server.domain.orders import Shopper, apply_failure, note_progress, place_order
from tests.conftest import add_product, orders, product
from tests.stripe_support import intent_event, signed, stripe_client

SHOPPER = Shopper(
    email="ana@example.com",
    name="Ana Lima",
    line1="1 Rua",
    city="Porto",
    postal_code="4000",
    country="Portugal",
)


def pending_order(sessions: sessionmaker[Session], intent_id: str, quantity: int = 1) -> Any:
    order, _ = place_order(
        sessions,
        link=CheckoutLink(sku="MUG-01"),
        quantity=quantity,
        shopper=SHOPPER,
        attempt_key=uuid.uuid4().hex,
        provider="stripe",
        method="card",
        hold_for=timedelta(minutes=15),
    )
    with write_session(sessions) as session:
        note_progress(session, order.id, "requires_confirmation", reference=intent_id)
    return order


def intent(intent_id: str, order: Any, status: str, error: dict | None = None) -> dict:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "status": status,
        "amount": 2400,
        "currency": "usd",
        "metadata": {"order_public_id": order.public_id},
        "last_payment_error": error,
    }


def deliver(client: TestClient, event: dict) -> Any:
    body, headers = signed(event)
    return client.post("/webhooks/stripe", content=body, headers=headers)


def processed(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ProcessedEvent)) or 0


DECLINE = {
    "code": "card_declined",
    "decline_code": "insufficient_funds",
    "message": "Your card has insufficient funds.",
}


def test_bad_signatures_are_refused_before_anything_is_read(
    stripe_client_app: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    order = pending_order(sessions, "pi_sig")
    event = intent_event("evt_sig", "succeeded", intent("pi_sig", order, "succeeded"))
    body, good = signed(event)
    attempts = [
        signed(event, secret="whsec_someone_else")[1],
        signed(event, timestamp=int(time.time()) - 301)[1],  # outside the 300 s tolerance
        {"Stripe-Signature": "t=1,v1=00"},
        {},
    ]
    for headers in attempts:
        answer = stripe_client_app.post("/webhooks/stripe", content=body, headers=headers)
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "invalid_signature"
    tampered = body.replace(b'"succeeded"', b'"canceled"')
    assert (
        stripe_client_app.post("/webhooks/stripe", content=tampered, headers=good).status_code
        == 400
    )
    assert processed(sessions) == 0
    assert orders(sessions)[0].status == "pending"
    assert deliver(stripe_client_app, event).status_code == 200  # the genuine one works
    assert orders(sessions)[0].status == "paid"


def test_test_provider_shops_have_no_stripe_webhook(client: TestClient) -> None:
    assert client.post("/webhooks/stripe", content=b"{}").status_code == 404


SUCCESS_STORY = ["requires_action", "processing", "succeeded", "succeeded-again"]


@pytest.mark.parametrize("order_of_events", list(itertools.permutations(SUCCESS_STORY)))
def test_any_order_of_a_successful_payment_ends_paid_once(
    order_of_events: tuple[str, ...],
    stripe_client_app: TestClient,
    sessions: sessionmaker[Session],
) -> None:
    add_product(sessions, stock=3)
    order = pending_order(sessions, "pi_ok")
    events = {
        "requires_action": intent_event(
            "evt_1", "requires_action", intent("pi_ok", order, "requires_action")
        ),
        "processing": intent_event("evt_2", "processing", intent("pi_ok", order, "processing")),
        "succeeded": intent_event("evt_3", "succeeded", intent("pi_ok", order, "succeeded")),
    }
    events["succeeded-again"] = events["succeeded"]  # Stripe redelivers the same event id
    for name in order_of_events:
        assert deliver(stripe_client_app, events[name]).status_code == 200
    [final] = orders(sessions)
    assert final.status == "paid"
    assert (product(sessions).on_hand, product(sessions).reserved) == (2, 0)
    assert processed(sessions) == 3


FAILURE_STORY = ["requires_action", "payment_failed", "canceled", "canceled-again"]


@pytest.mark.parametrize("order_of_events", list(itertools.permutations(FAILURE_STORY)))
def test_any_order_of_a_failed_payment_ends_canceled_and_released(
    order_of_events: tuple[str, ...],
    stripe_client_app: TestClient,
    sessions: sessionmaker[Session],
) -> None:
    add_product(sessions, stock=3)
    order = pending_order(sessions, "pi_no")
    events = {
        "requires_action": intent_event(
            "evt_1", "requires_action", intent("pi_no", order, "requires_action")
        ),
        "payment_failed": intent_event(
            "evt_2", "payment_failed", intent("pi_no", order, "requires_payment_method", DECLINE)
        ),
        "canceled": intent_event("evt_3", "canceled", intent("pi_no", order, "canceled")),
    }
    events["canceled-again"] = events["canceled"]
    for name in order_of_events:
        deliver(stripe_client_app, events[name])
    [final] = orders(sessions)
    assert final.status == "canceled"
    assert (product(sessions).on_hand, product(sessions).reserved) == (3, 0)


@pytest.mark.parametrize("first", ["payment_failed", "succeeded"])
def test_success_outranks_an_earlier_or_later_failure(
    first: str, stripe_client_app: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=3)
    order = pending_order(sessions, "pi_mix")
    failed = intent_event(
        "evt_f", "payment_failed", intent("pi_mix", order, "requires_payment_method", DECLINE)
    )
    succeeded = intent_event("evt_s", "succeeded", intent("pi_mix", order, "succeeded"))
    for event in [failed, succeeded] if first == "payment_failed" else [succeeded, failed]:
        deliver(stripe_client_app, event)
    assert orders(sessions)[0].status == "paid"
    assert (product(sessions).on_hand, product(sessions).reserved) == (2, 0)


def test_failure_message_is_recorded_for_the_shopper(
    stripe_client_app: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    order = pending_order(sessions, "pi_msg")
    deliver(
        stripe_client_app,
        intent_event(
            "evt_m", "payment_failed", intent("pi_msg", order, "requires_payment_method", DECLINE)
        ),
    )
    [final] = orders(sessions)
    assert (final.status, final.failure_code) == ("failed", "insufficient_funds")
    page = stripe_client_app.get(f"/orders/{final.public_id}")
    assert "Your card has insufficient funds. Try another card." in page.text


def test_concurrent_duplicate_deliveries_apply_once(
    stripe_client_app: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=3)
    order = pending_order(sessions, "pi_race", quantity=2)
    events = [intent_event("evt_s", "succeeded", intent("pi_race", order, "succeeded"))] * 6 + [
        intent_event(
            "evt_f", "payment_failed", intent("pi_race", order, "requires_payment_method", DECLINE)
        ),
        intent_event("evt_c", "canceled", intent("pi_race", order, "canceled")),
    ]
    barrier = threading.Barrier(len(events))
    answers: list[int] = []

    def post(event: dict) -> None:
        barrier.wait()
        answers.append(deliver(stripe_client_app, event).status_code)

    threads = [threading.Thread(target=post, args=(e,)) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * len(events)
    assert orders(sessions)[0].status == "paid"
    assert (product(sessions).on_hand, product(sessions).reserved) == (1, 0)
    assert processed(sessions) == 3


def test_payment_that_succeeds_after_its_stock_is_gone_is_refunded(
    stripe_client_app: TestClient, sessions: sessionmaker[Session], localstripe: str
) -> None:
    add_product(sessions, stock=1)
    paid = stripe_client(localstripe).v1.payment_intents.create(
        params={
            "amount": 2400,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    order = pending_order(sessions, paid.id)
    with write_session(sessions) as session:  # the sweeper gave up on it...
        apply_failure(
            session, order.id, status="canceled", code="checkout_abandoned", message="timed out"
        )
    add_product(sessions, stock=0)  # ...and the last unit sold elsewhere
    deliver(
        stripe_client_app,
        intent_event("evt_late", "succeeded", intent(paid.id, order, "succeeded")),
    )
    [final] = orders(sessions)
    assert (final.status, final.refunded_amount) == ("refunded", 2400)
    assert final.attention == "Paid after its stock ran out: refunded automatically."
    assert product(sessions).on_hand == 0  # never negative, never oversold
    refunds = stripe_client(localstripe).v1.refunds.list(params={"payment_intent": paid.id})
    assert [r.amount for r in refunds.data] == [2400]


def test_events_for_unknown_orders_are_acknowledged(
    stripe_client_app: TestClient, sessions: sessionmaker[Session]
) -> None:
    event = intent_event(
        "evt_x",
        "succeeded",
        {"id": "pi_elsewhere", "status": "succeeded", "metadata": {}, "last_payment_error": None},
    )
    assert deliver(stripe_client_app, event).json() == {"received": True, "duplicate": False}
    other = {**event, "id": "evt_y", "type": "charge.refunded"}
    assert deliver(stripe_client_app, other).json()["ignored"] is True
