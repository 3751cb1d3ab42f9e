"""The owner's webhook endpoints page: create (the secret shown once, the API's SSRF rules),
rotate with an overlap, disable, delete, the delivery log with retry and replay; staff and
forged forms get nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
import standardwebhooks
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import WebhookDelivery, WebhookEndpoint, utcnow
from buybutton_server.domain import admin_auth, outbox
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from buybutton_server.domain.outbox import Sender, deliver_due
from buybutton_server.domain.vocabulary import DeliveryStatus
from buybutton_server.payments.test_provider import TestPaymentProvider
from tests.live_server import LiveServers, free_port
from tests.webhook_receiver import Receiver

PASSWORD = "correct horse battery staple"
SENDER = Sender(allow_private=True)  # development mode: the receiver is on loopback
SECRET = re.compile(r'id="new-secret"[^>]*value="(whsec_[A-Za-z0-9+/=]+)"')


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def https_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    port = free_port()
    with LiveServers([(hook.app(), port)]):
        yield hook, f"http://127.0.0.1:{port}/hook"


def signed_in(client: TestClient, sessions: sessionmaker[Session], role: str) -> str:
    """Sign in as a new login with ``role``; returns a CSRF token for its session."""
    email = f"{role}@shop.example"
    with write_session(sessions) as session:
        create_admin(session, email, PASSWORD, role=role)
    answer = client.post(
        "/admin/login", data={"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get("/admin/webhooks").text)
    assert found is not None
    return found[1]


@pytest.fixture
def owner(https_client: TestClient, sessions: sessionmaker[Session]) -> str:
    return signed_in(https_client, sessions, "owner")


def add_endpoint(
    client: TestClient, csrf: str, url: str, description: str = "", events: tuple[str, ...] = ()
) -> tuple[str, str]:
    """Create through the page; returns the endpoint's id and its secret (shown once)."""
    answer = client.post(
        "/admin/webhooks",
        data={
            "csrf": csrf,
            "url": url,
            "events": list(events or outbox.EVENT_TYPES),
            "description": description,
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert "it will not be shown again" in answer.text
    secret = SECRET.search(answer.text)
    endpoint_id = re.search(r'action="/admin/webhooks/(we_[A-Za-z0-9_-]+)/rotate"', answer.text)
    assert secret is not None and endpoint_id is not None
    return endpoint_id[1], secret[1]


def paid(sessions: sessionmaker[Session], number: str = "BB-1") -> str:
    with write_session(sessions) as session:
        return outbox.record(session, "order.paid", {"number": number})


def count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_create_shows_the_secret_once_and_escapes_the_description(
    https_client: TestClient,
    sessions: sessionmaker[Session],
    owner: str,
    receiver: tuple[Receiver, str],
) -> None:
    page = https_client.get("/admin/webhooks")
    assert page.status_code == 200
    for event in outbox.EVENT_TYPES:
        assert f'value="{event}"' in page.text
    endpoint_id, secret = add_endpoint(
        https_client, owner, receiver[1], "<script>alert(1)</script>", ("order.paid",)
    )
    with sessions() as session:
        row = session.scalar(select(WebhookEndpoint))
        assert row is not None
    assert (row.public_id, row.secret, row.events) == (endpoint_id, secret, "order.paid")
    assert row.description == "<script>alert(1)</script>"
    for path in ("/admin/webhooks", f"/admin/webhooks/{endpoint_id}"):
        shown = https_client.get(path)
        assert shown.status_code == 200
        assert secret not in shown.text, "the secret is shown once, not on reloads"
        assert "<script>alert(1)" not in shown.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown.text
    assert https_client.get("/admin/webhooks/we_nope").status_code == 404


def test_bad_input_is_explained_and_nothing_is_written(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    none = https_client.post(
        "/admin/webhooks", data={"csrf": owner, "url": "https://hooks.example.com/x"}
    )
    assert none.status_code == 422 and "Choose at least one event type" in none.text
    assert 'value="https://hooks.example.com/x"' in none.text, "the form keeps what was typed"
    odd = https_client.post(
        "/admin/webhooks",
        data={"csrf": owner, "url": "ftp://hooks.example.com/", "events": ["order.paid"]},
    )
    assert odd.status_code == 422 and "url refused" in odd.text
    long = https_client.post(
        "/admin/webhooks",
        data={
            "csrf": owner,
            "url": "https://hooks.example.com/",
            "events": ["order.paid"],
            "description": "x" * 256,
        },
    )
    assert long.status_code == 422 and "at most 255" in long.text
    assert count(sessions, WebhookEndpoint) == 0


def test_production_refuses_private_addresses_as_the_api_does(
    settings: Settings, sessions: sessionmaker[Session]
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
    app = create_app(production, payments=TestPaymentProvider())
    with TestClient(app, base_url="https://shop.test") as client:
        csrf = signed_in(client, sessions, "owner")
        for url, why in (
            ("https://10.1.2.3/hook", "non-public address"),
            ("https://169.254.169.254/latest/meta-data", "non-public address"),
            ("http://hooks.example.com/hook", "must use https"),
        ):
            answer = client.post(
                "/admin/webhooks", data={"csrf": csrf, "url": url, "events": ["order.paid"]}
            )
            assert answer.status_code == 422, url
            assert "url refused" in answer.text and why in answer.text
    assert count(sessions, WebhookEndpoint) == 0


def test_rotation_keeps_the_old_secret_signing_during_the_overlap(
    https_client: TestClient,
    sessions: sessionmaker[Session],
    owner: str,
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    endpoint_id, old = add_endpoint(https_client, owner, url)
    rotated = https_client.post(f"/admin/webhooks/{endpoint_id}/rotate", data={"csrf": owner})
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    new = SECRET.search(rotated.text)
    assert new is not None and new[1] != old
    assert "24 hours" in rotated.text and "old secret too" in rotated.text
    assert new[1] not in https_client.get(f"/admin/webhooks/{endpoint_id}").text
    paid(sessions)
    assert deliver_due(sessions, SENDER) == 1
    [got] = hook.received
    for secret in (old, new[1]):
        assert standardwebhooks.Webhook(secret).verify(got.body, got.headers)["type"]
    paid(sessions, "BB-2")
    deliver_due(sessions, SENDER, now=lambda: utcnow() + timedelta(hours=25))
    later = hook.received[1]
    assert standardwebhooks.Webhook(new[1]).verify(later.body, later.headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(old).verify(later.body, later.headers)


def test_disabled_endpoints_get_nothing_until_enabled(
    https_client: TestClient,
    sessions: sessionmaker[Session],
    owner: str,
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    endpoint_id, _ = add_endpoint(https_client, owner, url)
    paid(sessions)  # pending when the endpoint is disabled: canceled
    off = https_client.post(
        f"/admin/webhooks/{endpoint_id}/disable", data={"csrf": owner}, follow_redirects=False
    )
    assert off.status_code == 303
    page = https_client.get(off.headers["location"]).text
    assert "The endpoint is disabled" in page and "disabled in the admin" in page
    paid(sessions, "BB-2")
    assert deliver_due(sessions, SENDER) == 0 and hook.received == []
    assert "Retry now" not in page, "nothing is retried to a disabled endpoint"
    on = https_client.post(
        f"/admin/webhooks/{endpoint_id}/enable", data={"csrf": owner}, follow_redirects=False
    )
    assert "The endpoint is enabled" in https_client.get(on.headers["location"]).text
    paid(sessions, "BB-3")
    assert deliver_due(sessions, SENDER) == 1 and len(hook.received) == 1


def test_a_failed_delivery_retried_from_the_page_is_delivered(
    https_client: TestClient,
    sessions: sessionmaker[Session],
    owner: str,
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    endpoint_id, _ = add_endpoint(https_client, owner, url)
    hook.answer = 500
    event_id = paid(sessions)
    assert deliver_due(sessions, SENDER) == 1
    with write_session(sessions) as session:  # as after the last scheduled retry
        session.execute(update(WebhookDelivery).values(status="failed", next_attempt_at=None))
    page = https_client.get(f"/admin/webhooks/{endpoint_id}").text
    assert "failed" in page and "HTTP 500" in page and "Retry now" in page
    assert deliver_due(sessions, SENDER) == 0, "a failed delivery waits for the owner"
    hook.answer = 200
    retried = https_client.post(
        f"/admin/webhooks/{endpoint_id}/retry",
        data={"csrf": owner, "event_id": event_id},
        follow_redirects=False,
    )
    assert retried.status_code == 303 and retried.headers["location"].endswith("notice=retry")
    assert deliver_due(sessions, SENDER) == 1
    assert hook.ids == [event_id, event_id], "the same webhook-id, for deduplication"
    with sessions() as session:
        assert session.scalar(select(WebhookDelivery.status)) == DeliveryStatus.DELIVERED.value
    page = https_client.get(f"/admin/webhooks/{endpoint_id}").text
    assert "delivered" in page and "Retry now" not in page
    unknown = https_client.post(
        f"/admin/webhooks/{endpoint_id}/retry", data={"csrf": owner, "event_id": "msg_nope"}
    )
    assert unknown.status_code == 404


def test_replay_since_sends_the_subscribed_events_again(
    https_client: TestClient,
    sessions: sessionmaker[Session],
    owner: str,
    receiver: tuple[Receiver, str],
) -> None:
    hook, url = receiver
    endpoint_id, _ = add_endpoint(https_client, owner, url, events=("order.paid",))
    first, second = paid(sessions), paid(sessions, "BB-2")
    with write_session(sessions) as session:
        outbox.record(session, "order.refunded", {"number": "BB-1"})  # not subscribed
    assert deliver_due(sessions, SENDER) == 2
    since = (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    replayed = https_client.post(
        f"/admin/webhooks/{endpoint_id}/replay",
        data={"csrf": owner, "since": since},
        follow_redirects=False,
    )
    assert replayed.status_code == 303
    assert (
        "2 event(s) are due again: they are sent within seconds"
        in https_client.get(replayed.headers["location"]).text
    )
    assert deliver_due(sessions, SENDER) == 2
    assert sorted(hook.ids) == sorted([first, second, first, second])
    future = (utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    none = https_client.post(
        f"/admin/webhooks/{endpoint_id}/replay",
        data={"csrf": owner, "since": future},
        follow_redirects=False,
    )
    assert "0 event(s)" in https_client.get(none.headers["location"]).text
    bad = https_client.post(
        f"/admin/webhooks/{endpoint_id}/replay", data={"csrf": owner, "since": "yesterday"}
    )
    assert bad.status_code == 422 and "as a date and time" in bad.text


def test_deliveries_are_paged_newest_first(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    endpoint_id, _ = add_endpoint(https_client, owner, "http://127.0.0.1:9/hook")
    numbers = [paid(sessions, f"BB-{n}") for n in range(25)]
    first = https_client.get(f"/admin/webhooks/{endpoint_id}").text
    assert numbers[-1] in first and numbers[5] in first and numbers[4] not in first
    older = re.search(r'href="(/admin/webhooks/we_[^"?]+\?before=\d+)"', first)
    assert older is not None
    second = https_client.get(older[1]).text
    assert all(n in second for n in numbers[:5]) and numbers[5] not in second
    assert "Older deliveries" not in second and "Newest deliveries" in second


def test_delete_asks_first(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    endpoint_id, _ = add_endpoint(https_client, owner, "https://hooks.example.com/x")
    paid(sessions)
    confirm = https_client.get(f"/admin/webhooks/{endpoint_id}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    assert count(sessions, WebhookEndpoint) == 1
    gone = https_client.post(
        f"/admin/webhooks/{endpoint_id}/delete", data={"csrf": owner}, follow_redirects=False
    )
    assert gone.headers["location"] == "/admin/webhooks?notice=deleted"
    assert count(sessions, WebhookEndpoint) == 0 and count(sessions, WebhookDelivery) == 0
    assert https_client.get(f"/admin/webhooks/{endpoint_id}").status_code == 404


def test_missing_or_foreign_csrf_is_refused(
    https_client: TestClient, sessions: sessionmaker[Session], owner: str
) -> None:
    form = {"url": "https://hooks.example.com/x", "events": ["order.paid"]}
    for data in (form, {**form, "csrf": "0" * 64}):
        assert https_client.post("/admin/webhooks", data=data).status_code == 400
    assert count(sessions, WebhookEndpoint) == 0
    endpoint_id, secret = add_endpoint(https_client, owner, "https://hooks.example.com/x")
    for action in ("rotate", "disable", "delete"):
        refused = https_client.post(f"/admin/webhooks/{endpoint_id}/{action}", data={})
        assert refused.status_code == 400
    with sessions() as session:
        row = session.scalar(select(WebhookEndpoint))
        assert row is not None and row.enabled and row.secret == secret


def test_staff_get_403_and_change_nothing(
    https_client: TestClient, sessions: sessionmaker[Session]
) -> None:
    with write_session(sessions) as session:
        row = outbox.create_endpoint(session, "https://hooks.example.com/x", ["*"])
        endpoint_id, secret = row.public_id, row.secret
    csrf = signed_in(https_client, sessions, "staff")
    for path in ("/admin/webhooks", f"/admin/webhooks/{endpoint_id}"):
        assert https_client.get(path).status_code == 403
    made = https_client.post(
        "/admin/webhooks",
        data={"csrf": csrf, "url": "https://hooks.example.com/y", "events": ["order.paid"]},
    )
    assert made.status_code == 403 and "whsec_" not in made.text
    for action in ("rotate", "disable", "delete", "retry", "replay"):
        refused = https_client.post(f"/admin/webhooks/{endpoint_id}/{action}", data={"csrf": csrf})
        assert refused.status_code == 403 and "whsec_" not in refused.text
    assert count(sessions, WebhookEndpoint) == 1
    with sessions() as session:
        row = session.scalar(select(WebhookEndpoint))
        assert row is not None and row.enabled and row.secret == secret
