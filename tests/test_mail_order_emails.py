"""Every email about an order is built the one way (domain/mail/emails.queue_order_email):
queued to the order's address in its language, with the shared head of data (language,
number, public id, name) before each kind's own, and deduplicated per kind. The counter's
two emails (pickup ready, pickup collected) render what the shopper needs."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import MailMessage, Order
from buybutton_server.domain import locations
from buybutton_server.domain.mail import counter_emails, emails, messages
from buybutton_server.domain.shop_profile import ShopIdentity
from tests.conftest import SHOPPER, add_product
from tests.order_helpers import paid_order

HEAD = ["locale", "number", "public_id", "name"]
SHOP = ShopIdentity(name="Shop", support_email="help@shop.example")


def _queue_all(sessions: sessionmaker[Session]) -> tuple[Order, list[MailMessage]]:
    add_product(sessions, stock=10)
    order = paid_order(sessions, [("MUG-01", 2)])
    with write_session(sessions) as session:
        store = locations.create_location(
            session,
            "STORE-A",
            {"name": "Store A", "kind": "store", "pickup_enabled": True, "city": "Porto"},
        )
        found = session.get_one(Order, order.id)
        emails.queue_receipt(session, found)
        emails.queue_refund(session, found, 1000, "refund-1")
        emails.queue_shipped(session, found, "DHL", "TN-1", "https://track.example/1")
        emails.queue_payment_failed(session, found)
        emails.queue_order_link(session, found, window=7)
        assert counter_emails.queue_pickup_ready(session, found, store, "123456")
        assert not counter_emails.queue_pickup_ready(session, found, store, "999999")  # queued
        assert counter_emails.queue_pickup_ready(session, found, store, "654321", copy=2)
        assert counter_emails.queue_pickup_collected(session, found, store)
        assert not counter_emails.queue_pickup_collected(session, found, store)
    with sessions() as session:
        return order, list(session.scalars(select(MailMessage).order_by(MailMessage.id)))


def test_every_order_email_has_the_shared_head_and_its_own_key(
    sessions: sessionmaker[Session],
) -> None:
    order, sent = _queue_all(sessions)
    n = order.number
    assert [row.dedupe_key for row in sent] == [
        f"receipt:{n}:1",
        "refund:refund-1",
        f"shipped:{n}:{emails._digest('DHL', 'TN-1')}",
        f"payment_failed:{n}",
        f"order_link:{n}:7",
        f"pickup_ready:{n}:1",
        f"pickup_ready:{n}:2",
        f"pickup_collected:{n}",
    ]
    for row in sent:
        data = json.loads(row.data)
        assert list(data)[:4] == HEAD, row.kind
        assert [data[key] for key in HEAD] == ["en", n, order.public_id, SHOPPER["name"]]
        assert row.to_address == SHOPPER["email"] and row.order_id == order.id
        assert row.subject.startswith("buybutton shop: ") and n in row.subject, row.kind
    codes = [json.loads(row.data).get("code") for row in sent if row.kind == "pickup_ready"]
    assert codes == ["123456", "654321"]


def test_the_counter_emails_render_the_store_the_items_and_the_code(
    sessions: sessionmaker[Session],
) -> None:
    order, sent = _queue_all(sessions)
    ready, collected = (
        next(row for row in sent if row.kind == kind)
        for kind in ("pickup_ready", "pickup_collected")
    )
    assert ready.subject == f"buybutton shop: Order {order.number} is ready to collect"
    assert collected.subject == f"buybutton shop: You collected order {order.number}"
    for row in (ready, collected):
        data = json.loads(row.data)
        assert data["store"] == {"name": "Store A", "address": ["Porto"], "instructions": ""}
        assert data["lines"] == [{"title": "Stoneware Mug", "quantity": 2}]
        bodies = messages.render(
            row.kind,
            data,
            shop=SHOP,
            base_url="https://shop.test",
            secret_keys=["k" * 32],
            subject_line=row.subject,
        )
        for body in (bodies.text, bodies.html):
            assert "Store A" in body and "Stoneware Mug" in body, row.kind
            assert "https://shop.test/o/" in body, row.kind  # the signed order link
        if row is ready:
            assert "123 456" in bodies.text and bodies.images, "the code and its QR image"
    ready_data = json.loads(ready.data)
    assert ready_data["reservation"] is False and ready_data["held_until"] == ""
    assert ready_data["total"] == 4800 and ready_data["currency"] == "USD"
