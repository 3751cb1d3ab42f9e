"""Retention: what the shop stops keeping, and when (docs/security.md, "Retention").

- Analytics events older than ``analytics`` days are deleted once the report's running totals
  have counted them (:mod:`buybutton_server.domain.rollups`: ids up to its mark); the totals
  go after ``rollups`` days (each key's latest older row stays, the base). (The daily totals
  of versions before migration 0031 were folded into the report's totals; 0040 dropped them.)
- Webhook events older than ``webhooks`` days go with their deliveries and attempts, once no
  delivery of theirs is still pending.
- Processed payment-provider events older than ``provider_events`` days.
- Idempotency answers older than ``idempotency`` days: the REST API's, and the UCP
  endpoint's (kept at least :data:`UCP_KEYS_MIN`, the spec's recommended 48 hours).
- UCP checkout sessions (with their buyer's email, name and address) ``idempotency`` days
  after they expired (6 hours after creation): an agent can read a finished one back for
  that long.
- The personal data on orders never paid (failed, canceled, or pending with their hold
  ended) placed more than ``unpaid_orders`` days ago: erased as an erasure request would
  (:func:`buybutton_server.domain.privacy.erase_orders`), the amounts and lines kept.

Every step deletes in bounded batches, so a first run over years of rows does not hold the
database's write lock for long. Several processes may run it at once: deleting events already
counted is the same whoever does it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, exists, select
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import (
    AnalyticsEvent,
    DeliveryAttempt,
    IdempotencyRecord,
    Order,
    ProcessedEvent,
    WebhookDelivery,
    WebhookEvent,
    utcnow,
)
from buybutton_server.domain import privacy, rollups, ucp_idempotency, ucp_sessions
from buybutton_server.settings_rules import Retention

BATCH = 2_000
UCP_KEYS_MIN = timedelta(hours=48)
_EVENTS = cast(Table, AnalyticsEvent.__table__)


@dataclass
class Pruned:
    """How many rows each step removed (analytics: raw events added up and deleted)."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # Message-IDs of the emails whose data was erased (their development copies go too).
    message_ids: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return ", ".join(f"{n} {what}" for what, n in self.counts.items() if n) or "nothing"


def day_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def delete_counted_batch(session: Session, before: datetime) -> int:
    """Delete one batch of raw events older than ``before`` (a day's start) that the running
    totals have counted (ids up to the roll-up's mark; others wait for the next run).
    Returns how many went."""
    e = _EVENTS.c
    ids = session.scalars(
        select(e.id)
        .where(e.occurred_at < before, e.id <= rollups.counted_up_to())
        .order_by(e.id)
        .limit(BATCH)
    ).all()
    if not ids:
        return 0
    return _changed(session, delete(_EVENTS).where(e.id.in_(ids)))


def _changed(session: Session, statement: Any) -> int:
    """Run an UPDATE or DELETE; how many rows it touched."""
    return cast("CursorResult[Any]", session.execute(statement)).rowcount


def _delete_batches(
    sessions: sessionmaker[Session], table: Any, id_column: Any, *where: Any
) -> int:
    """Delete the rows matching ``where``, ``BATCH`` at a time, one transaction each."""
    removed = 0
    while True:
        with write_session(sessions) as session:
            ids = session.scalars(select(id_column).where(*where).limit(BATCH)).all()
            if ids:
                session.execute(delete(table).where(id_column.in_(ids)))
        removed += len(ids)
        if len(ids) < BATCH:
            return removed


def _delete_webhooks(sessions: sessionmaker[Session], before: datetime) -> tuple[int, int, int]:
    """Old webhook events none of whose deliveries is pending, with their deliveries and
    attempts (deleted explicitly: SQLite does not always enforce ``ON DELETE CASCADE``)."""
    pending = exists().where(
        WebhookDelivery.event_id == WebhookEvent.id, WebhookDelivery.status == "pending"
    )
    counts = [0, 0, 0]
    while True:
        with write_session(sessions) as session:
            events: Sequence[int] = session.scalars(
                select(WebhookEvent.id)
                .where(WebhookEvent.created_at < before, ~pending)
                .limit(BATCH // 4)
            ).all()
            if events:
                deliveries = select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(events))
                counts[2] += _changed(
                    session,
                    delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(deliveries)),
                )
                counts[1] += _changed(
                    session, delete(WebhookDelivery).where(WebhookDelivery.event_id.in_(events))
                )
                counts[0] += _changed(
                    session, delete(WebhookEvent).where(WebhookEvent.id.in_(events))
                )
        if len(events) < BATCH // 4:
            return counts[0], counts[1], counts[2]


def _erase_unpaid(
    sessions: sessionmaker[Session], before: datetime, now: datetime, done: Pruned
) -> None:
    """Erase the personal data of unpaid orders placed before ``before``, a batch of
    ``BATCH // 10`` orders per transaction."""
    while True:
        with write_session(sessions) as session:
            ids = session.scalars(
                select(Order.id)
                .where(*privacy.unpaid_before(before, now))
                .order_by(Order.id)
                .limit(BATCH // 10)
            ).all()
            erased = privacy.erase_orders(session, ids)
        done.counts["unpaid orders erased"] += erased.counts["orders"]
        done.message_ids.extend(erased.message_ids)
        if len(ids) < BATCH // 10:
            return


def prune(
    sessions: sessionmaker[Session], keep: Retention, *, now: datetime | None = None
) -> Pruned:
    """One run of every step; returns what went."""
    now = now or utcnow()
    done = Pruned()
    raw_before = day_start(now - timedelta(days=keep.analytics))
    rollups.roll_up(sessions)  # the report's totals count every event before it goes
    rolled = BATCH
    while rolled == BATCH:
        with write_session(sessions) as session:
            rolled = delete_counted_batch(session, raw_before)
        done.counts["analytics events rolled up"] += rolled
    done.counts["report rollups"] += rollups.forget(
        sessions, before=now - timedelta(days=keep.rollups)
    )
    events, deliveries, attempts = _delete_webhooks(sessions, now - timedelta(days=keep.webhooks))
    done.counts["webhook events"] += events
    done.counts["webhook deliveries"] += deliveries
    done.counts["webhook attempts"] += attempts
    done.counts["provider events"] += _delete_batches(
        sessions,
        ProcessedEvent.__table__,
        ProcessedEvent.id,
        ProcessedEvent.received_at < now - timedelta(days=keep.provider_events),
    )
    done.counts["idempotency records"] += _delete_batches(
        sessions,
        IdempotencyRecord.__table__,
        IdempotencyRecord.id,
        IdempotencyRecord.created_at < now - timedelta(days=keep.idempotency),
    )
    keys_before = now - max(timedelta(days=keep.idempotency), UCP_KEYS_MIN)
    with write_session(sessions) as session:
        done.counts["UCP idempotency answers"] += ucp_idempotency.forget_old(session, keys_before)
    with write_session(sessions) as session:
        done.counts["UCP checkout sessions"] += ucp_sessions.forget_old(
            session, now - timedelta(days=keep.idempotency)
        )
    _erase_unpaid(sessions, now - timedelta(days=keep.unpaid_orders), now, done)
    return done
