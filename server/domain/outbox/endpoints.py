"""Webhook endpoints: create, list, rotate the secret, list deliveries, replay an event.

An endpoint's URL is checked at creation (and its address again at every connection, in
:mod:`.delivery`). A rotated secret signs from now on; the old one also signs for
:data:`~.signing.PREVIOUS_SECRET_LIFETIME`, so a receiver can switch without missing an event.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from buybutton_server.db.models import (
    DeliveryAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from buybutton_server.domain.outbox.delivery import check_url, public_address
from buybutton_server.domain.outbox.events import EVENT_TYPES
from buybutton_server.domain.outbox.signing import PREVIOUS_SECRET_LIFETIME, new_secret
from buybutton_server.domain.vocabulary import DeliveryStatus
from buybutton_server.errors import Conflict, InvalidInput, NotFound


def check_destination(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is not https (outside development) or that resolves to a private
    address; raises :class:`InvalidInput` ("url refused: …")."""
    try:
        check_url(url, allow_private=allow_private)
        if not allow_private:  # checked again at every connection, against DNS changes
            parts = urlsplit(url)
            public_address(parts.hostname or "", parts.port or 443, allow_private=False)
    except InvalidInput as refused:
        raise InvalidInput(f"url refused: {refused.message}.") from None


def check_events(events: Sequence[str]) -> list[str]:
    """The subscribed event types, sorted and without repeats; ``*`` means all."""
    if not events or not all(e == "*" or e in EVENT_TYPES for e in events):
        raise InvalidInput(f"events must list some of {', '.join(EVENT_TYPES)} (or *).")
    return sorted(set(events))


def create_endpoint(session: Session, url: str, events: Sequence[str]) -> WebhookEndpoint:
    """A new enabled endpoint with a fresh secret (check the URL first:
    :func:`check_destination`)."""
    row = WebhookEndpoint(
        public_id="we_" + secrets.token_urlsafe(12),
        url=url,
        events=",".join(check_events(events)),
        secret=new_secret(),
        enabled=True,
    )
    session.add(row)
    session.flush()
    return row


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def find_endpoint(session: Session, public_id: str) -> WebhookEndpoint:
    row = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.public_id == public_id))
    if row is None:
        raise NotFound(f"No webhook endpoint {public_id!r}.")
    return row


def rotate_secret(session: Session, public_id: str) -> WebhookEndpoint:
    """A new secret signs from now on; the old one also signs for 24 hours."""
    row = find_endpoint(session, public_id)
    row.previous_secret, row.secret = row.secret, new_secret()
    row.previous_secret_until = utcnow() + PREVIOUS_SECRET_LIFETIME
    session.flush()
    return row


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One event's delivery to one endpoint, with every attempt so far."""

    id: int
    event_id: str
    event_type: str
    delivery: WebhookDelivery
    attempts: Sequence[DeliveryAttempt]


def deliveries(session: Session, public_id: str, *, after: int, limit: int) -> list[DeliveryRecord]:
    """Deliveries to an endpoint with ids above ``after``, oldest first; up to ``limit + 1``
    (one more than asked, so the caller knows whether there is a next page)."""
    row = find_endpoint(session, public_id)
    found = session.execute(
        select(WebhookDelivery, WebhookEvent.public_id, WebhookEvent.type)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == row.id, WebhookDelivery.id > after)
        .order_by(WebhookDelivery.id)
        .limit(limit + 1)
    ).all()
    return [
        DeliveryRecord(
            id=delivery.id,
            event_id=event_id,
            event_type=event_type,
            delivery=delivery,
            attempts=list(
                session.scalars(
                    select(DeliveryAttempt)
                    .where(DeliveryAttempt.delivery_id == delivery.id)
                    .order_by(DeliveryAttempt.id)
                )
            ),
        )
        for delivery, event_id, event_type in found
    ]


def replay(session: Session, public_id: str, event_public_id: str) -> WebhookDelivery:
    """Send an event to an endpoint again, now (a new try for an existing delivery, or a new
    delivery). Receivers deduplicate on ``webhook-id``, which stays the same."""
    endpoint = find_endpoint(session, public_id)
    if not endpoint.enabled:
        raise Conflict("This endpoint is disabled.")
    event = session.scalar(select(WebhookEvent).where(WebhookEvent.public_id == event_public_id))
    if event is None:
        raise NotFound(f"No event {event_public_id!r}.")
    delivery = session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.event_id == event.id
        )
    )
    if delivery is None:
        delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id)
        session.add(delivery)
    delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING.value, utcnow()
    session.flush()
    return delivery
