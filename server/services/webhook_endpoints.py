"""Webhook endpoints through the API: create (the answer holds the secret), list, disable,
enable, delete, rotate the secret, read the delivery log, replay an event."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import WebhookEndpoint as EndpointRow
from buybutton_server.domain import outbox
from buybutton_server.domain.vocabulary import DeliveryStatus
from buybutton_server.services.api_types import (
    Answer,
    Input,
    ListQuery,
    Timestamp,
    page,
    rule,
    schema,
)

Sessions = sessionmaker[Session]
_EVENTS_MESSAGE = f"events must list some of {', '.join(outbox.EVENT_TYPES)} (or *)."


class WebhookEndpointInput(Input):
    problems = {"events": _EVENTS_MESSAGE}

    url: Annotated[str, Field(max_length=2048, description="https; not a private address")]
    events: Annotated[
        list[str],
        rule(outbox.check_events),
        schema(minItems=1, items={"enum": [*outbox.EVENT_TYPES, "*"]}),
    ] = ["*"]


class WebhookEndpoint(Answer):
    id: str
    url: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: Timestamp | None = None
    created_at: Timestamp | None
    secret: Annotated[str | None, Field(description="whsec_…, shown on create and rotate")] = None
    previous_secret_valid_until: Timestamp | None = None

    @classmethod
    def of(cls, row: EndpointRow, *, secret: bool = False) -> WebhookEndpoint:
        shown = cls(
            id=row.public_id,
            url=row.url,
            events=row.events.split(","),
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            disabled_at=outbox.iso_time(row.disabled_at),
            created_at=outbox.iso_time(row.created_at),
        )
        return shown.model_copy(update={"secret": row.secret}) if secret else shown


class WebhookEndpointDeleted(Answer):
    id: str
    deleted: bool


class WebhookEndpointList(Answer):
    data: list[WebhookEndpoint]
    next_cursor: str | None


class Attempt(Answer):
    at: Timestamp | None
    status_code: int | None
    error: str | None
    duration_ms: int | None


class Delivery(Answer):
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: list[Attempt]
    next_attempt_at: Timestamp | None
    delivered_at: Timestamp | None


class DeliveryList(Answer):
    data: list[Delivery]
    next_cursor: str | None


class Replay(Input):
    event_id: Annotated[str, Field(max_length=40)]


class ReplayStarted(Answer):
    event_id: str
    status: DeliveryStatus


def create_endpoint(
    sessions: Sessions,
    body: WebhookEndpointInput,
    *,
    allow_private: bool,
    ports: tuple[int, ...] = outbox.DEFAULT_PORTS,
    description: str = "",
) -> WebhookEndpoint:
    """Check the URL (in production: https on an allowed port, and a public address), then
    create (``description``: the owner's note, from the admin's webhooks page)."""
    outbox.check_destination(body.url, allow_private=allow_private, ports=ports)
    with write_session(sessions) as session:
        row = outbox.create_endpoint(session, body.url, body.events, description)
        return WebhookEndpoint.of(row, secret=True)


def list_endpoints(sessions: Sessions) -> WebhookEndpointList:
    with read_session(sessions) as session:
        rows = outbox.list_endpoints(session)
        return WebhookEndpointList(data=[WebhookEndpoint.of(r) for r in rows], next_cursor=None)


def rotate_secret(sessions: Sessions, endpoint_id: str) -> WebhookEndpoint:
    """A new secret signs from now on; the replaced one also signs for 24 hours (and each
    secret replaced earlier until its own 24 hours end), so a receiver can switch without
    missing an event."""
    with write_session(sessions) as session:
        row, until = outbox.rotate_secret(session, endpoint_id)
        return WebhookEndpoint.of(row, secret=True).model_copy(
            update={"previous_secret_valid_until": outbox.iso_time(until)}
        )


def set_enabled(sessions: Sessions, endpoint_id: str, *, enabled: bool) -> WebhookEndpoint:
    """Disable (pending deliveries are canceled, nothing more is sent) or enable again."""
    with write_session(sessions) as session:
        return WebhookEndpoint.of(outbox.set_enabled(session, endpoint_id, enabled))


def delete_endpoint(sessions: Sessions, endpoint_id: str) -> WebhookEndpointDeleted:
    """Delete the endpoint with its delivery log and secrets."""
    with write_session(sessions) as session:
        outbox.delete_endpoint(session, endpoint_id)
    return WebhookEndpointDeleted(id=endpoint_id, deleted=True)


def list_deliveries(sessions: Sessions, endpoint_id: str, query: ListQuery) -> DeliveryList:
    with read_session(sessions) as session:
        found = outbox.deliveries(session, endpoint_id, after=query.cursor, limit=query.limit)
        shown, cursor = page(found, query.limit, lambda d: d.id)
        return DeliveryList(
            data=[
                Delivery(
                    event_id=d.event_id,
                    event_type=d.event_type,
                    status=DeliveryStatus(d.delivery.status),
                    attempts=[
                        Attempt(
                            at=outbox.iso_time(a.attempted_at),
                            status_code=a.status_code,
                            error=a.error,
                            duration_ms=a.duration_ms,
                        )
                        for a in d.attempts
                    ],
                    next_attempt_at=outbox.iso_time(d.delivery.next_attempt_at),
                    delivered_at=outbox.iso_time(d.delivery.delivered_at),
                )
                for d in shown
            ],
            next_cursor=cursor,
        )


def replay(sessions: Sessions, endpoint_id: str, body: Replay) -> ReplayStarted:
    """Send an event to the endpoint again (same webhook-id); it is due at once."""
    with write_session(sessions) as session:
        outbox.replay(session, endpoint_id, body.event_id)
    return ReplayStarted(event_id=body.event_id, status=DeliveryStatus.PENDING)
