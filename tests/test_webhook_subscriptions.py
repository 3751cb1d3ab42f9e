"""Who gets a delivery of an event: every enabled endpoint subscribed to its type or to "*",
no other (the deliveries are written by one ``INSERT … SELECT`` with the event)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import WebhookDelivery, WebhookEndpoint
from buybutton_server.domain import outbox

SUBSCRIPTIONS = {
    "all": ("*", True),
    "paid": ("order.paid", True),
    "two": ("order.created,order.paid", True),
    "disabled": ("*", False),
    "failed": ("order.payment_failed", True),
    # Neither a prefix, a wildcard nor a type with one letter changed counts:
    "prefix": ("order.paid.extra,order", True),
    "lookalike": ("order.paymentXfailed,order%paid", True),
}


def test_each_event_reaches_exactly_its_subscribers(sessions: sessionmaker[Session]) -> None:
    with write_session(sessions) as session:
        ids = {}
        for name, (events, enabled) in SUBSCRIPTIONS.items():
            endpoint = WebhookEndpoint(
                public_id=f"we_{name}",
                url=f"https://example.com/{name}",
                secret="whsec_x",
                events=events,
                enabled=enabled,
            )
            session.add(endpoint)
            session.flush()
            ids[endpoint.id] = name
    for event_type in ("order.created", "order.paid", "order.payment_failed", "order.refunded"):
        with write_session(sessions) as session:
            outbox.record(session, event_type, {"n": 1})
    with sessions() as session:
        rows = session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.status, WebhookDelivery.attempts)
        ).all()
    assert {(status, attempts) for _, status, attempts in rows} == {("pending", 0)}
    got = Counter(ids[endpoint_id] for endpoint_id, _, _ in rows)
    assert got == {"all": 4, "paid": 1, "two": 2, "failed": 1}
