"""Sending what is due: each delivery is claimed with a conditional UPDATE (two workers never
send the same one at once), every attempt is recorded, only 2xx counts as delivered, a 410
disables the endpoint for good, and failures are retried on the schedule below.

One receiver cannot hold up the others: due deliveries are grouped by endpoint, endpoints are
served concurrently by a few threads (:data:`PARALLEL_ENDPOINTS`), each endpoint gets at most
:data:`PER_ENDPOINT` deliveries per run, and an endpoint that fails is left until the next run.
Every attempt ends within the sender's deadline, well inside its claim (:data:`CLAIM_FOR`),
so no other worker takes the delivery over while it is still being sent.

Several servers on one PostgreSQL: a run first claims its batch in one transaction, locking
the due rows with ``FOR UPDATE SKIP LOCKED`` (rows another server is claiming that instant
are skipped, not waited for) and moving them out of the due set with the same conditional
UPDATE; each attempt then renews its delivery's claim only while it still holds that claim's
time, and a failing endpoint hands the rest of its batch back. So servers share the outbox
instead of racing for the same rows. SQLite (one writer at a time) keeps the one-by-one claim.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Subquery, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import engine_of, read_session, write_session
from buybutton_server.db.models import (
    DeliveryAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from buybutton_server.domain.outbox.destinations import UnsafeDestination
from buybutton_server.domain.outbox.endpoints import disable
from buybutton_server.domain.outbox.sender import AttemptFailed, Sender
from buybutton_server.domain.outbox.signing import sign, signing_secrets
from buybutton_server.domain.vocabulary import DeliveryStatus
from buybutton_server.errors import InternalError

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
PARALLEL_ENDPOINTS = 4
PER_ENDPOINT = 10
_PENDING = DeliveryStatus.PENDING.value


class Claim(NamedTuple):
    """A delivery taken by a batch claim (PostgreSQL): its id, the claim's end (the token
    that proves it is still ours) and when it was due (restored if it is handed back)."""

    delivery_id: int
    until: datetime
    was_due: datetime


def _ranked(now: datetime) -> Subquery:
    rank = (
        func.row_number()
        .over(
            partition_by=WebhookDelivery.endpoint_id,
            order_by=(WebhookDelivery.next_attempt_at, WebhookDelivery.id),
        )
        .label("rank")
    )
    ranked = (
        select(WebhookDelivery.id, WebhookDelivery.endpoint_id, WebhookDelivery.next_attempt_at)
        .add_columns(rank)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.status == _PENDING,
            WebhookDelivery.next_attempt_at <= now,
            WebhookEndpoint.enabled.is_(True),
        )
        .subquery()
    )
    return ranked


def _due(session: Session, now: datetime, limit: int) -> dict[int, list[int]]:
    """Due deliveries to enabled endpoints, at most :data:`PER_ENDPOINT` each, by endpoint
    (the endpoints waiting longest first)."""
    ranked = _ranked(now)
    rows = session.execute(
        select(ranked.c.id, ranked.c.endpoint_id)
        .where(ranked.c.rank <= PER_ENDPOINT)
        .order_by(ranked.c.next_attempt_at, ranked.c.id)
        .limit(limit)
    )
    due: dict[int, list[int]] = {}
    for delivery_id, endpoint_id in rows:
        due.setdefault(endpoint_id, []).append(delivery_id)
    return due


def claim_due(sessions: sessionmaker[Session], now: datetime, limit: int) -> dict[int, list[Claim]]:
    """PostgreSQL: take a batch of due deliveries (as :func:`_due` picks them) in one
    transaction, by endpoint. Rows another server holds are skipped (``SKIP LOCKED``); the
    ones locked here move out of the due set with a conditional UPDATE (still pending, still
    due), so two claimers never take the same delivery."""
    ranked = _ranked(now)
    candidates = (
        select(ranked.c.id)
        .where(ranked.c.rank <= PER_ENDPOINT)
        .order_by(ranked.c.next_attempt_at, ranked.c.id)
        .limit(limit)
    )
    until = now + CLAIM_FOR
    with write_session(sessions) as session:
        locked = session.execute(
            select(WebhookDelivery.id, WebhookDelivery.endpoint_id, WebhookDelivery.next_attempt_at)
            .where(
                WebhookDelivery.id.in_(candidates),
                WebhookDelivery.status == _PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .with_for_update(skip_locked=True)
        ).all()
        if not locked:
            return {}
        taken = set(
            session.scalars(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id.in_([row.id for row in locked]),
                    WebhookDelivery.status == _PENDING,
                    WebhookDelivery.next_attempt_at <= now,
                )
                .values(next_attempt_at=until)
                .returning(WebhookDelivery.id)
            )
        )
    claims: dict[int, list[Claim]] = {}
    for delivery_id, endpoint_id, was_due in locked:
        if delivery_id in taken and was_due is not None:
            claims.setdefault(endpoint_id, []).append(Claim(delivery_id, until, was_due))
    return claims


def _claim(session: Session, delivery_id: int, now: datetime, held: Claim | None) -> bool:
    """Claim one delivery for one attempt: while it is due, or (``held``) while the batch
    claim is still ours, i.e. its time is still the one this run set."""
    still = (
        WebhookDelivery.next_attempt_at <= now
        if held is None
        else WebhookDelivery.next_attempt_at == held.until
    )
    moved = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == _PENDING, still)
        .values(next_attempt_at=now + CLAIM_FOR)
    )
    return bool(moved.rowcount)  # type: ignore[attr-defined]


def _hand_back(sessions: sessionmaker[Session], claims: list[Claim]) -> None:
    """Give back batch claims that were not attempted (their endpoint failed first): each
    is due again when it was, unless someone else has it by now."""
    if not claims:
        return
    with write_session(sessions) as session:
        for claim in claims:
            session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claim.delivery_id,
                    WebhookDelivery.status == _PENDING,
                    WebhookDelivery.next_attempt_at == claim.until,
                )
                .values(next_attempt_at=claim.was_due)
            )


def deliver_due(
    sessions: sessionmaker[Session],
    sender: Sender,
    *,
    now: Callable[[], datetime] = utcnow,
    limit: int = 50,
) -> int:
    """Send every delivery that is due (endpoints in parallel); returns how many were
    attempted."""
    if sender.deadline * 2 > CLAIM_FOR.total_seconds():
        raise InternalError("a webhook attempt's deadline must be well inside its claim")
    due: list[list[int | Claim]]
    if engine_of(sessions).dialect.name == "postgresql":
        due = [list(claims) for claims in claim_due(sessions, now(), limit).values()]
    else:
        with read_session(sessions) as session:
            due = [list(ids) for ids in _due(session, now(), limit).values()]
    if len(due) <= 1:
        return sum(_deliver_to_endpoint(sessions, sender, items, now) for items in due)
    with ThreadPoolExecutor(
        max_workers=min(PARALLEL_ENDPOINTS, len(due)), thread_name_prefix="webhooks"
    ) as pool:
        runs = [pool.submit(_deliver_to_endpoint, sessions, sender, items, now) for items in due]
        return sum(run.result() for run in runs)


def _deliver_to_endpoint(
    sessions: sessionmaker[Session],
    sender: Sender,
    due: list[int | Claim],
    now: Callable[[], datetime],
) -> int:
    """One endpoint's due deliveries in order (ids, or batch claims on PostgreSQL), stopping
    at the first that fails."""
    attempted = 0
    for index, item in enumerate(due):
        held = item if isinstance(item, Claim) else None
        delivery_id = item.delivery_id if isinstance(item, Claim) else item
        outcome = _attempt(sessions, sender, delivery_id, now, held)
        if outcome is None:
            continue  # another worker has it
        attempted += 1
        if not outcome:
            # A failing receiver waits for the next run: the rest are not sent (batch
            # claims are handed back).
            _hand_back(sessions, [c for c in due[index + 1 :] if isinstance(c, Claim)])
            break
    return attempted


def _attempt(
    sessions: sessionmaker[Session],
    sender: Sender,
    delivery_id: int,
    now: Callable[[], datetime],
    held: Claim | None = None,
) -> bool | None:
    """Claim and send one delivery: True if delivered, False if not, None if not claimed."""
    with write_session(sessions) as session:
        if not _claim(session, delivery_id, now(), held):
            return None
        delivery = session.get_one(WebhookDelivery, delivery_id)
        endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
        event = session.get_one(WebhookEvent, delivery.event_id)
        url, keys = endpoint.url, signing_secrets(session, endpoint, now())
        msg_id, body = event.public_id, event.payload.encode()
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
    except AttemptFailed as failed:
        error = failed.message
    elapsed = int((time.monotonic() - started) * 1000)
    _record_attempt(sessions, delivery_id, code, error, elapsed, now())
    return code is not None and 200 <= code < 300


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
        if delivery is None:
            return  # the endpoint was deleted while we were sending
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
            session.flush()
            disable(session, delivery.endpoint_id, "the endpoint answered 410 Gone")
            return
        if delivery.status != _PENDING:
            return  # canceled meanwhile (the endpoint was disabled)
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
