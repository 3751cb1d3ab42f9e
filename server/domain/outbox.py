"""Signed order webhooks (Standard Webhooks) through a transactional outbox.

:func:`record` writes an event, and one delivery per subscribed endpoint, inside the caller's
transaction: the order change and its event commit together or not at all, so no paid order
is ever without its ``order.paid``. :func:`deliver_due` sends what is due (inside ``buybutton
serve`` and ``buybutton worker``), claiming each delivery with a conditional UPDATE so two
workers never send the same one at once, records every attempt, treats only 2xx as delivered,
disables an endpoint that answers 410, and retries on the schedule below.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton.money import decimal_string
from buybutton_server.db import write_session
from buybutton_server.db.models import (
    DeliveryAttempt,
    Order,
    OrderLine,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)

log = logging.getLogger("buybutton.webhooks")

EVENT_TYPES = ("order.paid", "order.refunded", "order.fulfilled", "stock.low")
# The Standard Webhooks schedule, stretched to about three days: after the first try, wait
# these long (each with up to 20% jitter), then give up.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=20),
)
CLAIM_FOR = timedelta(seconds=60)  # a claimed delivery is retried if its sender died
PREVIOUS_SECRET_LIFETIME = timedelta(hours=24)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"))


def sign(secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: ``v1,<base64 HMAC-SHA256>`` per secret, space
    separated, over ``{id}.{timestamp}.{body}``."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(_key(s), content, hashlib.sha256).digest()).decode()
        for s in secrets_
    )


# -- the order as the API and the webhooks show it -----------------------------------------


def order_json(order: Any, lines: Sequence[Any] | None = None) -> dict[str, Any]:
    """An order (ORM object or Core row) as the API and webhooks show it."""
    lines = order.lines if lines is None else lines
    money = lambda amount: {  # noqa: E731
        "amount": amount,
        "currency": order.currency,
        "decimal": decimal_string(amount, order.currency),
    }
    return {
        "number": order.number,
        "status": order.status,
        "total": money(order.total_amount),
        "refunded": money(order.refunded_amount),
        "email": order.email,
        "name": order.name,
        "shipping": None
        if order.ship_line1 is None
        else {
            "line1": order.ship_line1,
            "line2": order.ship_line2,
            "city": order.ship_city,
            "postal_code": order.ship_postal_code,
            "country": order.ship_country,
        },
        "lines": [
            {
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "unit_amount": line.unit_amount,
                "total_amount": line.total_amount,
            }
            for line in lines
        ],
        "attribution": {
            "source": order.source,
            "campaign": order.campaign,
            "content": order.content,
        },
        "payment": {
            "provider": order.payment_provider,
            "method": order.payment_method,
            "reference": order.payment_reference,
        },
        "attention": order.attention,
        "created_at": iso_time(order.created_at),
        "paid_at": iso_time(order.paid_at),
        "fulfilled_at": iso_time(order.fulfilled_at),
    }


def iso_time(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z; SQLite hands back naive datetimes, which are UTC here."""
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z") if moment.tzinfo else moment.isoformat() + "Z"


# -- writing events ----------------------------------------------------------------------


_EVENTS = WebhookEvent.__table__
_DELIVERIES = WebhookDelivery.__table__
_ENDPOINTS = WebhookEndpoint.__table__
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
_INSERT_DELIVERY = insert(_DELIVERIES)
_SUBSCRIBERS = select(_ENDPOINTS.c.id, _ENDPOINTS.c.events).where(_ENDPOINTS.c.enabled.is_(True))
_ORDER_ROW = select(Order.__table__).where(Order.__table__.c.id == bindparam("order_id"))
_LINE_ROWS = (
    select(OrderLine.__table__)
    .where(OrderLine.__table__.c.order_id == bindparam("order_id"))
    .order_by(OrderLine.__table__.c.id)
)


def record(session: Session, event_type: str, data: dict[str, Any]) -> str:
    """Write an event and its deliveries in the caller's transaction (prebuilt Core
    statements: this runs inside every payment's settlement). Returns the webhook-id."""
    assert event_type in EVENT_TYPES, event_type
    now = utcnow()
    public_id = "msg_" + secrets.token_urlsafe(18)
    payload = json.dumps(
        {"type": event_type, "timestamp": iso_time(now), "data": data}, separators=(",", ":")
    )
    connection = session.connection()
    event_id = connection.execute(
        _INSERT_EVENT,
        {"public_id": public_id, "type": event_type, "payload": payload, "created_at": now},
    ).scalar_one()
    deliveries = [
        {
            "endpoint_id": endpoint_id,
            "event_id": event_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }
        for endpoint_id, events in connection.execute(_SUBSCRIBERS)
        if "*" in events.split(",") or event_type in events.split(",")
    ]
    if deliveries:
        connection.execute(_INSERT_DELIVERY, deliveries)
    return public_id


def record_order_event(session: Session, event_type: str, order_id: int) -> Any:
    """Announce an order's change; returns the order row (Core) with ``lines`` read too."""
    connection = session.connection()
    order = connection.execute(_ORDER_ROW, {"order_id": order_id}).one()
    lines = connection.execute(_LINE_ROWS, {"order_id": order_id}).all()
    record(session, event_type, {"order": order_json(order, lines)})
    return _OrderRow(order, lines)


class _OrderRow:
    """An order row with its lines, read the cheap way."""

    def __init__(self, row: Any, lines: Sequence[Any]) -> None:
        self._row, self.lines = row, lines

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, name)


# -- sending -------------------------------------------------------------------------------


class UnsafeDestination(Exception):
    """A webhook URL that would reach into our own network."""


def check_url(url: str, *, allow_private: bool) -> None:
    """At creation: https only (outside development), a host name, no credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeDestination("the URL must be an absolute https URL")
    if parts.scheme != "https" and not allow_private:
        raise UnsafeDestination("the URL must use https")
    if parts.username or parts.password:
        raise UnsafeDestination("the URL must not carry credentials")


def public_address(host: str, port: int, *, allow_private: bool) -> str:
    """Resolve ``host`` and return an address to connect to; refuse private, loopback,
    link-local, multicast and reserved ones (every address the name resolves to is checked,
    and we connect to the one checked, so a DNS answer cannot change in between)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UnsafeDestination(f"cannot resolve {host}") from error
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not allow_private and not ip.is_global:
            raise UnsafeDestination(f"{host} resolves to a non-public address ({ip})")
    return addresses[0]


@dataclass
class Sender:
    """Sends one signed POST. ``allow_private`` is for development and tests only."""

    allow_private: bool = False
    timeout: float = 10.0
    transport: httpx.BaseTransport | None = None

    def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        check_url(url, allow_private=self.allow_private)
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = public_address(parts.hostname or "", port, allow_private=self.allow_private)
        netloc = (f"[{address}]" if ":" in address else address) + f":{port}"
        target = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        with httpx.Client(
            timeout=self.timeout, follow_redirects=False, transport=self.transport
        ) as client:
            answer = client.post(
                target,
                content=body,
                headers={**headers, "Host": parts.netloc.rsplit("@", 1)[-1]},
                extensions={"sni_hostname": parts.hostname} if parts.scheme == "https" else {},
            )
        return answer.status_code


def _due(session: Session, now: datetime, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )


def _claim(session: Session, delivery_id: int, now: datetime) -> bool:
    moved = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + CLAIM_FOR)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def deliver_due(
    sessions: sessionmaker[Session],
    sender: Sender,
    *,
    now: Callable[[], datetime] = utcnow,
    limit: int = 50,
) -> int:
    """Send every delivery that is due; returns how many were attempted."""
    attempted = 0
    with write_session(sessions) as session:
        due = _due(session, now(), limit)
    for delivery_id in due:
        with write_session(sessions) as session:
            if not _claim(session, delivery_id, now()):
                continue  # another worker has it
            delivery = session.get(WebhookDelivery, delivery_id)
            assert delivery is not None
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
            event = session.get(WebhookEvent, delivery.event_id)
            assert endpoint is not None and event is not None
            url, keys = endpoint.url, _signing_secrets(endpoint, now())
            msg_id, body = event.public_id, event.payload.encode()
        attempted += 1
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(keys, msg_id, timestamp, body),
            "user-agent": "buybutton-webhooks/1",
        }
        started = time.monotonic()
        code: int | None = None
        error: str | None = None
        try:
            code = sender.post(url, headers, body)
        except UnsafeDestination as refused:
            error = f"refused: {refused}"
        except httpx.HTTPError as failed:
            error = f"{type(failed).__name__}: {failed}"[:255]
        elapsed = int((time.monotonic() - started) * 1000)
        _record_attempt(sessions, delivery_id, code, error, elapsed, now())
    return attempted


def _signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    keys = [endpoint.secret]
    until = endpoint.previous_secret_until
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=now.tzinfo)
    if endpoint.previous_secret and until is not None and until > now:
        keys.append(endpoint.previous_secret)
    return keys


def _record_attempt(
    sessions: sessionmaker[Session],
    delivery_id: int,
    code: int | None,
    error: str | None,
    elapsed_ms: int,
    now: datetime,
) -> None:
    with write_session(sessions) as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        session.add(
            DeliveryAttempt(
                delivery_id=delivery_id,
                attempted_at=now,
                status_code=code,
                error=error,
                duration_ms=elapsed_ms,
            )
        )
        delivery.attempts += 1
        delivery.last_status_code = code
        delivery.last_error = error
        if code is not None and 200 <= code < 300:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                "delivered",
                now,
                None,
            )
            return
        if code == 410:  # Gone: the receiver asks us to stop, for good
            session.execute(
                update(WebhookEndpoint)
                .where(WebhookEndpoint.id == delivery.endpoint_id)
                .values(enabled=False, disabled_reason="the endpoint answered 410 Gone")
            )
            session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.endpoint_id == delivery.endpoint_id,
                    WebhookDelivery.status == "pending",
                )
                .values(status="canceled", next_attempt_at=None)
            )
            return
        if delivery.attempts > len(RETRY_DELAYS):
            delivery.status, delivery.next_attempt_at = "failed", None
            return
        delay = RETRY_DELAYS[delivery.attempts - 1]
        jitter = delay * random.uniform(0, 0.2)
        delivery.next_attempt_at = now + delay + jitter


def replay(session: Session, endpoint: WebhookEndpoint, event_public_id: str) -> WebhookDelivery:
    """Send an event to an endpoint again, now (a new try for an existing delivery, or a new
    delivery). Receivers deduplicate on ``webhook-id``, which stays the same."""
    event = session.scalar(select(WebhookEvent).where(WebhookEvent.public_id == event_public_id))
    if event is None:
        raise LookupError(event_public_id)
    delivery = session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.event_id == event.id
        )
    )
    if delivery is None:
        delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id)
        session.add(delivery)
    delivery.status, delivery.next_attempt_at = "pending", utcnow()
    session.flush()
    return delivery


def pending_count(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
        )
        or 0
    )
