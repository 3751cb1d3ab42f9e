"""Order webhooks: Standard Webhooks signatures (checked with the `standardwebhooks`
package), the outbox's delivery guarantees, retries, 410, rotation, replay and SSRF."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
import standardwebhooks
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.api import verify_webhook
from buybutton.errors import WebhookVerificationError
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import (
    DeliveryAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from buybutton_server.domain.api_keys import create_key
from buybutton_server.domain.outbox import (
    MAX_SIGNING_SECRETS,
    RETRY_DELAYS,
    Sender,
    UnsafeDestination,
    deliver_due,
)
from buybutton_server.payments.test_provider import TestPaymentProvider
from tests.conftest import BASE_URL, GOOD_CARD, SHOPPER, attempt_key, path_of
from tests.live_server import LiveServers, free_port
from tests.webhook_receiver import Receiver

SENDER = Sender(allow_private=True)  # development mode: the receiver is on loopback


@pytest.fixture
def api(client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    with write_session(sessions) as session:
        key = create_key(session, "write")[1]
    client.headers["Authorization"] = f"Bearer {key}"
    answer = client.post(
        "/api/v1/products",
        json={"sku": "MUG-01", "title": "Mug", "price": "24.00", "currency": "USD", "stock": 50},
    )
    assert answer.status_code == 201
    return client


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    port = free_port()
    with LiveServers([(hook.app(), port)]):
        yield hook, f"http://127.0.0.1:{port}/hook"


def endpoint(api: TestClient, url: str, events: list[str] | None = None) -> dict:
    # order.paid unless told: "*" would add order.created to every pay() (test_order_events).
    answer = api.post(
        "/api/v1/webhook-endpoints", json={"url": url, "events": events or ["order.paid"]}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["secret"].startswith("whsec_")
    return answer.json()


def pay(api: TestClient) -> str:
    url = api.post("/api/v1/links", json={"sku": "MUG-01", "source": "api"}).json()["url"]
    api.cookies.delete("bb_bought")  # buying through the same link again (item 8)
    page = api.get(path_of(url))
    done = api.post(path_of(url), data={"attempt": attempt_key(page.text), **SHOPPER, **GOOD_CARD})
    return done.url.path.rsplit("/", 1)[1]


def test_a_paid_order_arrives_signed_per_the_spec(
    api: TestClient, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    secret = endpoint(api, url, ["order.paid"])["secret"]
    pay(api)
    assert deliver_due(sessions, SENDER) == 1
    [got] = hook.received
    # The reference implementation agrees with our signature...
    payload = standardwebhooks.Webhook(secret).verify(got.body, got.headers)
    assert payload["type"] == "order.paid"
    order = payload["data"]["order"]
    assert (order["status"], order["total"]["amount"], order["attribution"]["source"]) == (
        "paid",
        2400,
        "api",
    )
    # ...and so does the SDK's verifier, which returns a typed event.
    event = verify_webhook(got.body, got.headers, [secret])
    assert event.id == got.headers["webhook-id"] and event.order is not None
    assert event.order.status == "paid"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(got.body.replace(b"2400", b"1"), got.headers, [secret])
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(got.body + b" ", got.headers)
    with sessions() as session:
        delivery = session.scalar(select(WebhookDelivery))
        assert delivery is not None and delivery.status == "delivered"
        attempt = session.scalar(select(DeliveryAttempt))
        assert attempt is not None and attempt.status_code == 200


def test_receiver_down_then_back_gets_every_event_exactly_once(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    port = free_port()
    endpoint(api, f"http://127.0.0.1:{port}/hook", ["order.paid"])
    for _ in range(3):
        pay(api)
    # Nobody listening: a failing endpoint gets one try per run, the rest wait for the next.
    assert [deliver_due(sessions, SENDER) for _ in range(3)] == [1, 1, 1]
    with sessions() as session:
        attempts = list(session.scalars(select(DeliveryAttempt)))
    assert len(attempts) == 3 and all(a.status_code is None and a.error for a in attempts)
    assert deliver_due(sessions, SENDER) == 0, "not due yet: the next try waits"

    hook = Receiver()
    later = utcnow() + RETRY_DELAYS[0] * 1.3
    with LiveServers([(hook.app(), port)]):
        # Two workers race for the same due deliveries; claims keep each to one sender.
        runs = [
            threading.Thread(
                target=deliver_due, args=(sessions, SENDER), kwargs={"now": lambda: later}
            )
            for _ in range(2)
        ]
        for run in runs:
            run.start()
        for run in runs:
            run.join()
        deliver_due(sessions, SENDER, now=lambda: later + timedelta(days=3))
    assert len(hook.ids) == 3 and len(set(hook.ids)) == 3
    with sessions() as session:
        assert {d.status for d in session.scalars(select(WebhookDelivery))} == {"delivered"}


def test_retries_follow_a_growing_schedule_then_give_up(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    endpoint(api, f"http://127.0.0.1:{free_port()}/hook", ["order.paid"])
    pay(api)
    now = utcnow()
    waits = []
    for _ in range(len(RETRY_DELAYS) + 1):
        assert deliver_due(sessions, SENDER, now=lambda at=now: at) == 1
        with sessions() as session:
            delivery = session.scalar(select(WebhookDelivery))
            assert delivery is not None
        if delivery.next_attempt_at is None:
            break
        due = delivery.next_attempt_at.replace(tzinfo=now.tzinfo)
        waits.append(due - now)
        now = due
    assert delivery.status == "failed" and delivery.attempts == len(RETRY_DELAYS) + 1
    assert list(RETRY_DELAYS) == sorted(RETRY_DELAYS), "the schedule only grows"
    for wait, base in zip(waits, RETRY_DELAYS, strict=True):
        assert base <= wait <= base * 1.2 + timedelta(seconds=1), "delay plus jitter"
    assert sum(waits, timedelta()) > timedelta(days=2), "about three days in all"


def test_410_gone_disables_the_endpoint(
    api: TestClient, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    hook.answer = 410
    made = endpoint(api, url)
    pay(api)
    deliver_due(sessions, SENDER)
    listed = api.get("/api/v1/webhook-endpoints").json()["data"]
    assert listed[0]["id"] == made["id"] and listed[0]["enabled"] is False
    assert "410" in listed[0]["disabled_reason"]
    pay(api)
    assert deliver_due(sessions, SENDER, now=lambda: utcnow() + timedelta(days=1)) == 0
    assert len(hook.received) == 1


def test_only_2xx_counts_and_redirects_are_not_followed(
    api: TestClient, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    hook.answer, hook.extra = 302, {"Location": url.replace("/hook", "/elsewhere")}
    endpoint(api, url)
    pay(api)
    deliver_due(sessions, SENDER)
    assert len(hook.received) == 1
    with sessions() as session:
        delivery = session.scalar(select(WebhookDelivery))
        assert delivery is not None
        assert (delivery.status, delivery.last_status_code) == ("pending", 302)


def test_the_outbox_survives_a_restart_between_commit_and_delivery(
    settings: Settings, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    with write_session(sessions) as session:
        key = create_key(session, "write")[1]
    idle = replace(settings, webhook_seconds=3600)  # the first server never gets to send
    with TestClient(create_app(idle), base_url=BASE_URL) as first:
        first.headers["Authorization"] = f"Bearer {key}"
        first.post(
            "/api/v1/products",
            json={"sku": "MUG-01", "title": "Mug", "price": "24.00", "currency": "USD", "stock": 5},
        )
        endpoint(first, url)
        pay(first)
        first.get("/healthz")
    assert hook.received == []
    with sessions() as session:
        assert session.scalars(select(WebhookEvent.type)).all() == ["order.created", "order.paid"]
    busy = replace(settings, webhook_seconds=0.05)
    with TestClient(create_app(busy), base_url=BASE_URL) as second:
        for _ in range(100):
            if hook.received:
                break
            second.get("/healthz")
            threading.Event().wait(0.05)
    assert len(hook.received) == 1


def test_secret_rotation_signs_with_both_secrets_for_a_day(
    api: TestClient, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    made = endpoint(api, url)
    rotated = api.post(f"/api/v1/webhook-endpoints/{made['id']}/rotate-secret").json()
    assert rotated["secret"] != made["secret"] and rotated["previous_secret_valid_until"]
    pay(api)
    deliver_due(sessions, SENDER)
    [got] = hook.received
    assert len(got.headers["webhook-signature"].split()) == 2
    for secret in (made["secret"], rotated["secret"]):
        assert standardwebhooks.Webhook(secret).verify(got.body, got.headers)["type"]
    later = utcnow() + timedelta(days=2)
    pay(api)
    deliver_due(sessions, SENDER, now=lambda: later)
    assert len(hook.received[1].headers["webhook-signature"].split()) == 1


def test_a_second_rotation_within_a_day_keeps_the_first_overlap(
    api: TestClient, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    """Before: the second rotation overwrote the one previous secret, so a receiver still
    on the first secret failed at once."""
    hook, url = receiver
    made = endpoint(api, url)
    rotate = f"/api/v1/webhook-endpoints/{made['id']}/rotate-secret"
    first = api.post(rotate).json()
    second = api.post(rotate).json()
    assert len({made["secret"], first["secret"], second["secret"]}) == 3
    pay(api)
    deliver_due(sessions, SENDER)
    [got] = hook.received
    assert len(got.headers["webhook-signature"].split()) == 3
    for secret in (made["secret"], first["secret"], second["secret"]):
        assert standardwebhooks.Webhook(secret).verify(got.body, got.headers)["type"]
    # Each overlap ends 24 hours after its own rotation; then only the current secret signs.
    pay(api)
    deliver_due(sessions, SENDER, now=lambda: utcnow() + timedelta(hours=24, minutes=1))
    assert len(hook.received[1].headers["webhook-signature"].split()) == 1
    assert standardwebhooks.Webhook(second["secret"]).verify(
        hook.received[1].body, hook.received[1].headers
    )


def test_rotations_are_capped_so_the_signature_header_stays_small(api: TestClient) -> None:
    made = endpoint(api, "http://127.0.0.1:9/hook")
    rotate = f"/api/v1/webhook-endpoints/{made['id']}/rotate-secret"
    assert all(api.post(rotate).status_code == 200 for _ in range(MAX_SIGNING_SECRETS - 1))
    refused = api.post(rotate)
    assert refused.status_code == 409 and "secrets signing" in refused.json()["error"]["message"]


def test_an_endpoint_can_be_disabled_enabled_and_deleted(
    api: TestClient, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    made = endpoint(api, url, ["order.paid"])
    base = f"/api/v1/webhook-endpoints/{made['id']}"
    pay(api)  # pending when the endpoint is disabled: canceled, not sent
    disabled = api.post(f"{base}/disable").json()
    assert disabled["enabled"] is False and disabled["disabled_at"]
    assert disabled["disabled_reason"] == "disabled through the API"
    pay(api)  # while disabled: not recorded for this endpoint
    assert deliver_due(sessions, SENDER, now=lambda: utcnow() + timedelta(days=1)) == 0
    assert hook.received == []
    listed = api.get(f"{base}/deliveries").json()["data"]
    assert [d["status"] for d in listed] == ["canceled"]
    assert api.post(f"{base}/replay", json={"event_id": listed[0]["event_id"]}).status_code == 409

    enabled = api.post(f"{base}/enable").json()
    assert enabled["enabled"] is True and enabled["disabled_reason"] is None
    pay(api)
    assert deliver_due(sessions, SENDER) == 1 and len(hook.received) == 1

    deleted = api.delete(base)
    assert deleted.status_code == 200 and deleted.json() == {"id": made["id"], "deleted": True}
    assert api.get("/api/v1/webhook-endpoints").json()["data"] == []
    assert api.get(f"{base}/deliveries").status_code == 404
    assert api.delete(base).status_code == 404
    pay(api)
    assert deliver_due(sessions, SENDER) == 0
    with sessions() as session:
        assert session.scalar(select(WebhookDelivery)) is None
        assert session.scalar(select(DeliveryAttempt)) is None


def test_an_endpoint_disabled_by_410_can_be_enabled_again(
    api: TestClient, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    hook.answer = 410
    made = endpoint(api, url)
    pay(api)
    deliver_due(sessions, SENDER)
    assert api.get("/api/v1/webhook-endpoints").json()["data"][0]["enabled"] is False
    hook.answer = 200
    api.post(f"/api/v1/webhook-endpoints/{made['id']}/enable")
    pay(api)
    assert deliver_due(sessions, SENDER) == 1 and len(hook.received) == 2


def test_deliveries_are_listed_with_attempts_and_can_be_replayed(
    api: TestClient, sessions: sessionmaker[Session], receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    made = endpoint(api, url, ["order.paid"])
    pay(api)
    deliver_due(sessions, SENDER)
    listed = api.get(f"/api/v1/webhook-endpoints/{made['id']}/deliveries").json()["data"]
    assert listed[0]["status"] == "delivered" and listed[0]["attempts"][0]["status_code"] == 200
    event_id = listed[0]["event_id"]
    assert (
        api.post(
            f"/api/v1/webhook-endpoints/{made['id']}/replay", json={"event_id": event_id}
        ).status_code
        == 202
    )
    deliver_due(sessions, SENDER)
    assert hook.ids == [event_id, event_id], "a replay keeps its webhook-id"
    missing = api.post(f"/api/v1/webhook-endpoints/{made['id']}/replay", json={"event_id": "msg_x"})
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://0.0.0.0/hook",
    ],
)
def test_ssrf_private_destinations_are_refused_at_connect_time(url: str) -> None:
    with pytest.raises(UnsafeDestination):
        Sender(allow_private=False).post(url, {}, b"{}")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/",
        "https://user:pw@hooks.example.com/",
        "ftp://hooks.example.com/",
        "https://hooks.example.com:8080/hook",
        "https://[64:ff9b::a9fe:a9fe]/latest/meta-data",
    ],
)
def test_production_refuses_unsafe_webhook_urls_when_created(
    settings: Settings, sessions: sessionmaker[Session], url: str
) -> None:
    production = replace(
        settings,
        environment="production",
        base_url="https://shop.test",
        secret_keys=("k9#Qv2!xLm7@Rt4$Wz8%Bn3^Hy6&Jp1*",),
        payment_provider="stripe",
        stripe_secret_key="sk_test_unused",
        stripe_publishable_key="pk_test_unused",
        stripe_webhook_secret="whsec_unused",
    )
    with write_session(sessions) as session:
        key = create_key(session, "write")[1]
    app = create_app(production, payments=TestPaymentProvider())  # no Stripe calls here
    with TestClient(app, base_url="https://shop.test") as client:
        answer = client.post(
            "/api/v1/webhook-endpoints",
            json={"url": url},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert answer.status_code == 422 and "url refused" in answer.json()["error"]["message"]
    with sessions() as session:
        assert session.scalar(select(WebhookEndpoint)) is None


def test_a_delivery_to_a_private_address_is_recorded_as_refused(
    api: TestClient, sessions: sessionmaker[Session]
) -> None:
    endpoint(api, "http://127.0.0.1:9/hook")
    pay(api)
    deliver_due(sessions, Sender(allow_private=False))
    with sessions() as session:
        attempt = session.scalar(select(DeliveryAttempt))
        assert attempt is not None and attempt.error is not None
        assert attempt.error.startswith("refused:") and attempt.status_code is None
