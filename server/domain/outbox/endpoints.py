"""Webhook endpoints: create, list, disable, enable, delete, rotate the secret, list
deliveries, replay an event.

An endpoint's URL is checked at creation (and its address again at every connection, in
:mod:`.sender`). A rotated secret signs from now on; each replaced one also signs for
:data:`~.signing.PREVIOUS_SECRET_LIFETIME` from its rotation, so a receiver can switch
without missing an event, however many rotations come in a day.

Disabling stops deliveries at once: pending ones are canceled (replay them after enabling),
and events are not recorded for a disabled endpoint. Deleting removes the endpoint with its
deliveries, attempts and secrets.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from buybutton_server.db.models import (
    DeliveryAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookSecret,
    utcnow,
)
from buybutton_server.domain.outbox.destinations import (
    DEFAULT_PORTS,
    check_url,
    port_of,
    public_address,
)
from buybutton_server.domain.outbox.events import EVENT_TYPES
from buybutton_server.domain.outbox.signing import (
    MAX_SIGNING_SECRETS,
    PREVIOUS_SECRET_LIFETIME,
    new_secret,
)
from buybutton_server.domain.vocabulary import DeliveryStatus
from buybutton_server.errors import Conflict, InvalidInput, NotFound


def check_destination(
    url: str, *, allow_private: bool, ports: tuple[int, ...] = DEFAULT_PORTS
) -> None:
    """Refuse a URL that is not https on an allowed port (outside development) or that
    resolves to a private address; raises :class:`InvalidInput` ("url refused: …")."""
    try:
        check_url(url, allow_private=allow_private, ports=ports)
        if not allow_private:  # checked again at every connection, against DNS changes
            host = urlsplit(url).hostname or ""
            public_address(host, port_of(url), allow_private=False)
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


def rotate_secret(session: Session, public_id: str) -> tuple[WebhookEndpoint, datetime]:
    """A new secret signs from now on; the replaced one also signs for 24 hours (as does
    every secret replaced before it, until its own 24 hours end). Returns the endpoint and
    when the replaced secret stops signing. Refused with :class:`Conflict` when
    :data:`MAX_SIGNING_SECRETS` would sign at once."""
    row = find_endpoint(session, public_id)
    now = utcnow()
    session.execute(
        delete(WebhookSecret).where(
            WebhookSecret.endpoint_id == row.id, WebhookSecret.expires_at <= now
        )
    )
    live = session.scalar(
        select(func.count()).select_from(WebhookSecret).where(WebhookSecret.endpoint_id == row.id)
    )
    if (live or 0) + 2 > MAX_SIGNING_SECRETS:
        raise Conflict(
            f"This endpoint already has {MAX_SIGNING_SECRETS} secrets signing; wait until the "
            "oldest overlap ends, or delete the endpoint and create a new one."
        )
    until = now + PREVIOUS_SECRET_LIFETIME
    session.add(WebhookSecret(endpoint_id=row.id, secret=row.secret, expires_at=until))
    row.secret = new_secret()
    session.flush()
    return row, until


def set_enabled(session: Session, public_id: str, enabled: bool) -> WebhookEndpoint:
    """Enable or disable an endpoint. Disabling cancels its pending deliveries; enabling
    clears the reason (also a 410's) and events reach it again from now on."""
    row = find_endpoint(session, public_id)
    if enabled:
        row.enabled, row.disabled_reason, row.disabled_at = True, None, None
    elif row.enabled:
        disable(session, row.id, "disabled through the API")
    session.flush()
    session.refresh(row)
    return row


def disable(session: Session, endpoint_id: int, reason: str) -> None:
    """Stop sending to an endpoint: mark it disabled and cancel what is pending."""
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(enabled=False, disabled_reason=reason, disabled_at=utcnow())
    )
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.CANCELED.value, next_attempt_at=None)
    )


def delete_endpoint(session: Session, public_id: str) -> None:
    """Delete an endpoint with its deliveries, their attempts and its secrets."""
    row = find_endpoint(session, public_id)
    delivery_ids = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == row.id)
    session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(delivery_ids)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == row.id))
    session.execute(delete(WebhookSecret).where(WebhookSecret.endpoint_id == row.id))
    session.delete(row)
    session.flush()


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
