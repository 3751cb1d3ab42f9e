"""Sending what is due: each delivery is claimed with a conditional UPDATE (two workers never
send the same one at once), every attempt is recorded, only 2xx counts as delivered, a 410
disables the endpoint for good, and failures are retried on the schedule below.

Destinations are checked twice against server-side request forgery: the URL when an endpoint
is created (:func:`check_url`) and the resolved address at every connection
(:func:`public_address`), which is also the address connected to.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import (
    DeliveryAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from buybutton_server.domain.outbox.signing import sign, signing_secrets
from buybutton_server.domain.vocabulary import DeliveryStatus
from buybutton_server.errors import InvalidInput

log = logging.getLogger("buybutton.webhooks")

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
_PENDING = DeliveryStatus.PENDING.value


class UnsafeDestination(InvalidInput):
    """A webhook URL that would reach into our own network (``message`` says why)."""

    code = "unsafe_destination"


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
    addresses = [str(info[4][0]) for info in infos]
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
            .where(WebhookDelivery.status == _PENDING, WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )


def _claim(session: Session, delivery_id: int, now: datetime) -> bool:
    moved = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == _PENDING,
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
            delivery = session.get_one(WebhookDelivery, delivery_id)
            endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
            event = session.get_one(WebhookEvent, delivery.event_id)
            url, keys = endpoint.url, signing_secrets(endpoint, now())
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
            error = f"refused: {refused.message}"
        except httpx.HTTPError as failed:
            error = f"{type(failed).__name__}: {failed}"[:255]
        elapsed = int((time.monotonic() - started) * 1000)
        _record_attempt(sessions, delivery_id, code, error, elapsed, now())
    return attempted


def _record_attempt(
    sessions: sessionmaker[Session],
    delivery_id: int,
    code: int | None,
    error: str | None,
    elapsed_ms: int,
    now: datetime,
) -> None:
    with write_session(sessions) as session:
        delivery = session.get_one(WebhookDelivery, delivery_id)
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
            delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED.value, now
            delivery.next_attempt_at = None
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
                    WebhookDelivery.status == _PENDING,
                )
                .values(status=DeliveryStatus.CANCELED.value, next_attempt_at=None)
            )
            return
        if delivery.attempts > len(RETRY_DELAYS):
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED.value, None
            return
        delay = RETRY_DELAYS[delivery.attempts - 1]
        jitter = delay * random.uniform(0, 0.2)
        delivery.next_attempt_at = now + delay + jitter


def pending_count(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status == _PENDING)
        )
        or 0
    )
