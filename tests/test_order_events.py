"""Order events for the merchant's backend (issue 14, item 5): ``order.created``,
``order.payment_failed`` and ``order.canceled`` beside ``order.paid``, each sent once per
move of the order, whatever order the provider's events arrive in and however often."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import standardwebhooks
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.tokens import CheckoutLink
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import WebhookEvent, utcnow
from buybutton_server.domain import outbox
from buybutton_server.domain.api_keys import create_key
from buybutton_server.domain.orders import Shopper, note_progress, place_order, release_expired
from buybutton_server.errors import SoldOut
from buybutton_server.payments.test_provider import TestPaymentProvider
from buybutton_server.services import order_pages
from tests.conftest import BASE_URL, add_product, orders, product
from tests.live_server import LiveServers, free_port
from tests.stripe_support import intent_event, signed
from tests.webhook_receiver import Receiver

SENDER = outbox.Sender(allow_private=True)  # the receivers listen on loopback
SHOPPER = Shopper(email="ana@example.com", name="Ana Lima")
DECLINE = {
    "code": "card_declined",
    "decline_code": "insufficient_funds",
    "message": "Your card has insufficient funds.",
}
HOLD = timedelta(minutes=15)


@pytest.fixture
def receivers() -> Iterator[Callable[[], tuple[Receiver, str]]]:
    """Starts merchant receivers on real ports, as many as a test asks for."""
    with ExitStack() as stack:

        def start() -> tuple[Receiver, str]:
            hook, port = Receiver(), free_port()
            stack.enter_context(LiveServers([(hook.app(), port)]))
            return hook, f"http://127.0.0.1:{port}/hook"

        yield start


@pytest.fixture
def stripe_app(stripe_settings: Settings) -> Iterator[TestClient]:
    """The Stripe shop, with its own webhook sending idle: the tests send with ``SENDER``."""
    quiet = replace(stripe_settings, webhook_seconds=3600)
    with TestClient(create_app(quiet), base_url=BASE_URL) as client:
        yield client


def subscribe(sessions: sessionmaker[Session], url: str, events: list[str]) -> str:
    with write_session(sessions) as session:
        return str(outbox.create_endpoint(session, url, events).secret)


def arrived(hook: Receiver, secret: str) -> list[dict[str, Any]]:
    """What the receiver got, each verified as the spec says."""
    return [standardwebhooks.Webhook(secret).verify(r.body, r.headers) for r in hook.received]


def recorded(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    with sessions() as session:
        payloads = session.scalars(select(WebhookEvent.payload).order_by(WebhookEvent.id))
        return [json.loads(p) for p in payloads]


def place(
    sessions: sessionmaker[Session],
    *,
    provider: str = "test",
    attempt: str | None = None,
    link: CheckoutLink | None = None,
) -> Any:
    order, _ = place_order(
        sessions,
        link=link or CheckoutLink(sku="MUG-01"),
        quantity=1,
        shopper=SHOPPER,
        attempt_key=attempt or uuid.uuid4().hex,
        provider=provider,
        method="card",
        hold_for=HOLD,
    )
    return order


def stripe_order(sessions: sessionmaker[Session], intent_id: str) -> Any:
    order = place(sessions, provider="stripe")
    with write_session(sessions) as session:
        note_progress(session, order.id, "requires_confirmation", reference=intent_id)
    return order


def intent(
    intent_id: str, order: Any, status: str, error: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "status": status,
        "amount": 2400,
        "currency": "usd",
        "metadata": {"order_public_id": order.public_id},
        "last_payment_error": error,
    }


def deliver(client: TestClient, event: dict[str, Any]) -> None:
    body, headers = signed(event)
    assert client.post("/webhooks/stripe", content=body, headers=headers).status_code == 200


def test_a_declined_card_then_a_successful_retry(
    stripe_app: TestClient,
    sessions: sessionmaker[Session],
    receivers: Callable[[], tuple[Receiver, str]],
) -> None:
    """created, payment_failed, paid for one order number, in that order, to a real
    receiver; an endpoint that asked only for order.paid gets order.paid alone."""
    add_product(sessions, stock=3)
    (everything, every_url), (paid_only, paid_url) = receivers(), receivers()
    every_secret = subscribe(sessions, every_url, ["*"])
    paid_secret = subscribe(sessions, paid_url, ["order.paid"])
    order = stripe_order(sessions, "pi_retry")
    failed = intent("pi_retry", order, "requires_payment_method", DECLINE)
    deliver(stripe_app, intent_event("evt_declined", "payment_failed", failed))
    deliver(stripe_app, intent_event("evt_ok", "succeeded", intent("pi_retry", order, "succeeded")))
    deliver_due(sessions)

    events = arrived(everything, every_secret)
    assert [e["type"] for e in events] == ["order.created", "order.payment_failed", "order.paid"]
    assert {e["data"]["order"]["number"] for e in events} == {order.number}
    assert [e["data"]["order"]["status"] for e in events] == ["pending", "failed", "paid"]
    created, declined, paid = (e["data"] for e in events)
    assert declined["failure"] == {
        "code": "insufficient_funds",
        "message": "Your card has insufficient funds. Try another card.",
    }
    assert "failure" not in created and "failure" not in paid and "reason" not in declined
    # The same order JSON as order.paid: the same fields, whatever the event.
    assert created["order"].keys() == declined["order"].keys() == paid["order"].keys()
    assert created["order"]["lines"][0]["sku"] == "MUG-01"
    assert created["order"]["payment"]["reference"] is None  # no card data, ever
    assert [e["type"] for e in arrived(paid_only, paid_secret)] == ["order.paid"]


@pytest.mark.parametrize(
    "arrival", list(itertools.permutations(["failed", "failed-again", "canceled"]))
)
def test_duplicated_and_shuffled_stripe_events_announce_each_move_once(
    arrival: tuple[str, ...], stripe_app: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=3)
    order = stripe_order(sessions, "pi_dup")
    failed = intent("pi_dup", order, "requires_payment_method", DECLINE)
    events = {
        "failed": intent_event("evt_f", "payment_failed", failed),
        "canceled": intent_event("evt_c", "canceled", intent("pi_dup", order, "canceled")),
    }
    events["failed-again"] = events["failed"]  # Stripe redelivers the same event id
    for name in arrival:
        deliver(stripe_app, events[name])
    types = [e["type"] for e in recorded(sessions)]
    # The order went pending → failed → canceled, or straight pending → canceled when the
    # cancellation came first (a later failure changes nothing): one event per move.
    failed_first = arrival[0] != "canceled"  # either copy of the failure counts
    moves = ["order.payment_failed"] if failed_first else []
    assert types == ["order.created", *moves, "order.canceled"]
    canceled = recorded(sessions)[-1]["data"]
    assert (canceled["reason"], canceled["order"]["status"]) == ("payment_canceled", "canceled")
    assert orders(sessions)[0].status == "canceled"


def test_a_duplicated_failure_and_a_late_success(
    stripe_app: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=3)
    order = stripe_order(sessions, "pi_twice")
    failed = intent_event(
        "evt_f", "payment_failed", intent("pi_twice", order, "requires_payment_method", DECLINE)
    )
    succeeded = intent_event("evt_s", "succeeded", intent("pi_twice", order, "succeeded"))
    for event in (failed, failed, succeeded, failed, succeeded):
        deliver(stripe_app, event)
    types = [e["type"] for e in recorded(sessions)]
    assert types == ["order.created", "order.payment_failed", "order.paid"]


def test_an_expired_hold_is_announced_as_canceled(
    sessions: sessionmaker[Session], receivers: Callable[[], tuple[Receiver, str]]
) -> None:
    add_product(sessions, stock=2)
    hook, url = receivers()
    secret = subscribe(sessions, url, ["order.created", "order.canceled"])
    order = place(sessions)
    later = utcnow() + HOLD + timedelta(minutes=1)
    assert release_expired(sessions, TestPaymentProvider(), now=later) == 1
    assert release_expired(sessions, TestPaymentProvider(), now=later) == 0  # nothing more
    deliver_due(sessions)
    events = arrived(hook, secret)
    assert [e["type"] for e in events] == ["order.created", "order.canceled"]
    assert {e["data"]["order"]["number"] for e in events} == {order.number}
    assert events[1]["data"]["reason"] == "expired"
    assert events[1]["data"]["order"]["status"] == "canceled"
    assert product(sessions).reserved == 0


def test_an_abandoned_checkout_is_announced_as_canceled(
    sessions: sessionmaker[Session], receivers: Callable[[], tuple[Receiver, str]]
) -> None:
    add_product(sessions, stock=2)
    hook, url = receivers()
    secret = subscribe(sessions, url, ["order.canceled"])
    order = place(sessions)
    for _ in range(2):  # the browser reports it twice; the order is canceled once
        assert order_pages.abandon(sessions, TestPaymentProvider(), order.public_id) == "canceled"
    deliver_due(sessions)
    [event] = arrived(hook, secret)
    assert event["type"] == "order.canceled"
    assert (event["data"]["reason"], event["data"]["order"]["number"]) == (
        "abandoned",
        order.number,
    )


def test_order_created_once_per_attempt_and_for_every_line(
    sessions: sessionmaker[Session],
) -> None:
    add_product(sessions, stock=5)
    add_product(sessions, sku="CUP-02", title="Cup", stock=5)
    first = place(sessions, attempt="a" * 20)
    again = place(sessions, attempt="a" * 20)  # a double tap: the same order, no new event
    assert again.number == first.number
    cart = CheckoutLink.for_items([("MUG-01", 2), ("CUP-02", 1)])
    several = place(sessions, link=cart)
    created = [e["data"]["order"] for e in recorded(sessions)]
    assert [o["number"] for o in created] == [first.number, several.number]
    assert [(ln["sku"], ln["quantity"]) for ln in created[1]["lines"]] == [
        ("MUG-01", 2),
        ("CUP-02", 1),
    ]
    assert created[1]["status"] == "pending" and created[1]["total"]["amount"] == 3 * 2400


def test_a_refused_placement_announces_nothing(sessions: sessionmaker[Session]) -> None:
    add_product(sessions, stock=0)
    with pytest.raises(SoldOut):
        place(sessions)
    assert recorded(sessions) == []


def test_endpoints_can_subscribe_to_the_new_types(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    with write_session(sessions) as session:
        key = create_key(session, "write")[1]
    client.headers["Authorization"] = f"Bearer {key}"
    wanted = ["order.created", "order.payment_failed", "order.canceled"]
    answer = client.post(
        "/api/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/hook", "events": wanted},
    )
    assert answer.status_code == 201, answer.text
    assert sorted(answer.json()["events"]) == sorted(wanted)
    refused = client.post(
        "/api/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/hook", "events": ["order.abandoned"]},
    )
    assert refused.status_code == 422
    assert "order.payment_failed" in refused.json()["error"]["message"]


def deliver_due(sessions: sessionmaker[Session]) -> None:
    while outbox.deliver_due(sessions, SENDER):
        pass
