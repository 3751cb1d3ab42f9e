"""Webhook endpoints: create, list, disable, enable, delete, rotate the secret, list
deliveries, replay an event.

An endpoint's URL is checked at creation (and its address again at every connection, in
:mod:`.sender`). A rotated secret signs from now on; each replaced one also signs for
:data:`~.signing.PREVIOUS_SECRET_LIFETIME` from its rotation, so a receiver can switch
without missing an event, however many rotations come in a day.

"Replay since" sends every subscribed event from a moment on again (the admin's webhooks
page), capped so one click cannot queue the whole history.

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
from sqlalchemy.sql.elements import ColumnElement

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

MAX_DESCRIPTION = 255
MAX_REPLAY = 500  # events one "replay since" may send again


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


def check_description(description: str) -> str:
    """The owner's note on an endpoint, trimmed; at most :data:`MAX_DESCRIPTION` characters."""
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"The description must be at most {MAX_DESCRIPTION} characters.")
    return description


def create_endpoint(
    session: Session, url: str, events: Sequence[str], description: str = ""
) -> WebhookEndpoint:
    """A new enabled endpoint with a fresh secret (check the URL first:
    :func:`check_destination`)."""
    row = WebhookEndpoint(
        public_id="we_" + secrets.token_urlsafe(12),
        url=url,
        events=",".join(check_events(events)),
        description=check_description(description),
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


def set_enabled(
    session: Session, public_id: str, enabled: bool, reason: str = "disabled through the API"
) -> WebhookEndpoint:
    """Enable or disable an endpoint. Disabling cancels its pending deliveries; enabling
    clears the reason (also a 410's) and events reach it again from now on."""
    row = find_endpoint(session, public_id)
    if enabled:
        row.enabled, row.disabled_reason, row.disabled_at = True, None, None
    elif row.enabled:
        disable(session, row.id, reason)
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
    return _deliveries(session, WebhookDelivery.id > after, row.id, newest_first=False, limit=limit)


def recent_deliveries(
    session: Session, public_id: str, *, before: int | None, limit: int
) -> list[DeliveryRecord]:
    """Deliveries to an endpoint, newest first, with ids below ``before`` (if given); up to
    ``limit + 1``."""
    row = find_endpoint(session, public_id)
    older = WebhookDelivery.id < before if before is not None else WebhookDelivery.id > 0
    return _deliveries(session, older, row.id, newest_first=True, limit=limit)


def _deliveries(
    session: Session,
    where: ColumnElement[bool],
    endpoint_id: int,
    *,
    newest_first: bool,
    limit: int,
) -> list[DeliveryRecord]:
    found = session.execute(
        select(WebhookDelivery, WebhookEvent.public_id, WebhookEvent.type)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id, where)
        .order_by(WebhookDelivery.id.desc() if newest_first else WebhookDelivery.id)
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


def replay_since(session: Session, public_id: str, since: datetime) -> int:
    """Send an endpoint every event it subscribes to that was recorded at or after
    ``since`` again, now (at most :data:`MAX_REPLAY`; more is refused with
    :class:`Conflict`). Returns how many deliveries are due."""
    endpoint = find_endpoint(session, public_id)
    if not endpoint.enabled:
        raise Conflict("This endpoint is disabled.")
    wanted = endpoint.events.split(",")
    query = select(WebhookEvent.id).where(WebhookEvent.created_at >= since)
    if "*" not in wanted:
        query = query.where(WebhookEvent.type.in_(wanted))
    event_ids = list(session.scalars(query.order_by(WebhookEvent.id).limit(MAX_REPLAY + 1)))
    if len(event_ids) > MAX_REPLAY:
        raise Conflict(
            f"More than {MAX_REPLAY} events were recorded since then; pick a later time."
        )
    now = utcnow()
    known = set(
        session.scalars(
            select(WebhookDelivery.event_id).where(
                WebhookDelivery.endpoint_id == endpoint.id,
                WebhookDelivery.event_id.in_(event_ids),
            )
        )
    )
    if known:
        session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint.id,
                WebhookDelivery.event_id.in_(known),
            )
            .values(status=DeliveryStatus.PENDING.value, next_attempt_at=now)
        )
    session.add_all(
        WebhookDelivery(endpoint_id=endpoint.id, event_id=event_id, next_attempt_at=now)
        for event_id in event_ids
        if event_id not in known
    )
    session.flush()
    return len(event_ids)
