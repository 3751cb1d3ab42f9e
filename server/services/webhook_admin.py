"""Webhook endpoints for the owner's admin pages: what the pages show (the owner's note, never
a secret outside the answer that made it), creating from a form, the delivery log newest
first, retrying one delivery, replaying everything since a moment.

Creating and rotating go through :mod:`.webhook_endpoints`, the API's use cases, so the
admin checks exactly what the API checks (https, allowed ports, public addresses).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import WebhookEndpoint as EndpointRow
from buybutton_server.domain import outbox
from buybutton_server.domain.vocabulary import DeliveryStatus
from buybutton_server.errors import InvalidInput
from buybutton_server.services import webhook_endpoints
from buybutton_server.services.webhook_endpoints import WebhookEndpointInput

Sessions = sessionmaker[Session]

EVENT_TYPES = outbox.EVENT_TYPES
MAX_URL = 2048
DELIVERIES_PER_PAGE = 20


@dataclass(frozen=True, slots=True)
class EndpointView:
    id: str
    url: str
    events: tuple[str, ...]
    description: str
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: EndpointRow) -> EndpointView:
        return cls(
            id=row.public_id,
            url=row.url,
            events=tuple(row.events.split(",")),
            description=row.description,
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            disabled_at=row.disabled_at,
            created_at=row.created_at,
        )


@dataclass(frozen=True, slots=True)
class NewSecret:
    """A secret just made (shown once); ``previous_valid_until`` after a rotation."""

    endpoint: EndpointView
    secret: str
    previous_valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None

    @property
    def retryable(self) -> bool:
        return self.status != DeliveryStatus.DELIVERED.value


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    rows: list[DeliveryView]
    older: int | None  # the ``before`` of the next (older) page, if there is one


def list_endpoints(sessions: Sessions) -> list[EndpointView]:
    with read_session(sessions) as session:
        return [EndpointView.of(row) for row in outbox.list_endpoints(session)]


def endpoint(sessions: Sessions, endpoint_id: str) -> EndpointView:
    with read_session(sessions) as session:
        return EndpointView.of(outbox.find_endpoint(session, endpoint_id))


def create_endpoint(
    sessions: Sessions,
    *,
    url: str,
    events: list[str],
    description: str,
    allow_private: bool,
    ports: tuple[int, ...],
) -> NewSecret:
    """Check the form (the URL as the API does), create, and return the secret once."""
    url = url.strip()
    if not url:
        raise InvalidInput("Enter the URL that should receive the events (https://…).")
    if len(url) > MAX_URL:
        raise InvalidInput(f"The URL must be at most {MAX_URL} characters.")
    if not events:
        raise InvalidInput("Choose at least one event type.")
    outbox.check_events(events)
    description = outbox.check_description(description)
    made = webhook_endpoints.create_endpoint(
        sessions,
        WebhookEndpointInput(url=url, events=events),
        allow_private=allow_private,
        ports=ports,
        description=description,
    )
    return NewSecret(endpoint(sessions, made.id), made.secret or "")


def rotate_secret(sessions: Sessions, endpoint_id: str) -> NewSecret:
    """A new secret (shown once); the replaced one keeps signing until ``previous_valid_until``."""
    rotated = webhook_endpoints.rotate_secret(sessions, endpoint_id)
    until = rotated.previous_secret_valid_until
    return NewSecret(
        endpoint(sessions, endpoint_id),
        rotated.secret or "",
        datetime.fromisoformat(until) if until else None,
    )


def set_enabled(sessions: Sessions, endpoint_id: str, *, enabled: bool) -> None:
    """Disable (pending deliveries are canceled, nothing more is sent) or enable again."""
    with write_session(sessions) as session:
        outbox.set_enabled(session, endpoint_id, enabled, reason="disabled in the admin")


def delete_endpoint(sessions: Sessions, endpoint_id: str) -> None:
    webhook_endpoints.delete_endpoint(sessions, endpoint_id)


def recent_deliveries(
    sessions: Sessions, endpoint_id: str, *, before: int | None = None
) -> DeliveryPage:
    """One page of the endpoint's deliveries, newest first, older than ``before``."""
    limit = DELIVERIES_PER_PAGE
    with read_session(sessions) as session:
        found = outbox.recent_deliveries(session, endpoint_id, before=before, limit=limit)
        rows = [
            DeliveryView(
                id=d.id,
                event_id=d.event_id,
                event_type=d.event_type,
                status=d.delivery.status,
                attempts=d.delivery.attempts,
                last_attempt_at=d.attempts[-1].attempted_at if d.attempts else None,
                last_status_code=d.delivery.last_status_code,
                last_error=d.delivery.last_error,
                next_attempt_at=d.delivery.next_attempt_at,
                delivered_at=d.delivery.delivered_at,
            )
            for d in found[:limit]
        ]
    return DeliveryPage(rows, rows[-1].id if len(found) > limit else None)


def retry(sessions: Sessions, endpoint_id: str, event_id: str) -> None:
    """Send one event to the endpoint again now (the delivery worker picks it up at once);
    the receiver sees the same ``webhook-id``."""
    if not event_id or len(event_id) > 40:
        raise InvalidInput("That delivery is not known.")
    with write_session(sessions) as session:
        outbox.replay(session, endpoint_id, event_id)


def parse_moment(text: str) -> datetime:
    """A moment typed as ``YYYY-MM-DDTHH:MM`` (a datetime-local field), read as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("Enter the moment as a date and time, e.g. 2026-11-26T09:30.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def replay_since(sessions: Sessions, endpoint_id: str, since: str) -> int:
    """Send every subscribed event recorded since ``since`` (UTC) again; how many."""
    moment = parse_moment(since)
    with write_session(sessions) as session:
        return outbox.replay_since(session, endpoint_id, moment)
