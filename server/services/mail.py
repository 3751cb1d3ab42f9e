"""Email for the admin, the command line and the background task: resend a receipt, queue a
password reset, list and read the outbox, and send what is due (docs/email.md)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import MailMessage
from buybutton_server.domain import mail
from buybutton_server.domain.order_search import order_by_number
from buybutton_server.domain.vocabulary import OrderStatus
from buybutton_server.errors import Conflict, NotFound
from buybutton_server.settings import Settings

log = logging.getLogger("buybutton.mail")
Sessions = sessionmaker[Session]


@dataclass(frozen=True, slots=True)
class MailRow:
    """One message of the outbox, as lists show it."""

    id: int
    kind: str
    to: str
    subject: str
    status: str
    attempts: int
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None

    @classmethod
    def of(cls, row: MailMessage) -> MailRow:
        return cls(
            id=row.id,
            kind=row.kind,
            to=row.to_address,
            subject=row.subject,
            status=row.status,
            attempts=row.attempts,
            error=row.last_error,
            created_at=row.created_at,
            sent_at=row.sent_at,
            next_attempt_at=row.next_attempt_at,
        )


@dataclass(frozen=True, slots=True)
class MailDetail:
    """One message with its bodies; ``text`` and ``html`` are None when the message holds a
    secret (a password-reset link) that the admin must not show."""

    row: MailRow
    text: str | None
    html: str | None
    hidden: bool


def resend_receipt(sessions: Sessions, number: str) -> None:
    """Queue another copy of a paid order's receipt. :class:`NotFound` for an unknown
    order, :class:`Conflict` for one that is not paid (or refunded: it was paid once)."""
    with write_session(sessions) as session:
        order = order_by_number(session, number.strip().upper())
        if order.status not in (OrderStatus.PAID, OrderStatus.REFUNDED):
            raise Conflict(f"order {order.number} is not paid yet: there is no receipt to send")
        mail.resend_receipt(session, order)


def queue_password_reset(
    sessions: Sessions,
    to: str,
    reset_url: str,
    *,
    expires_minutes: int = 60,
    invitation: bool = False,
) -> None:
    """Queue a password-reset email with ``reset_url`` (valid ``expires_minutes``); an
    ``invitation`` welcomes a new login instead."""
    with write_session(sessions) as session:
        mail.queue_password_reset(
            session, to, reset_url, expires_minutes=expires_minutes, invitation=invitation
        )


def list_messages(sessions: Sessions, *, failed_only: bool, limit: int) -> list[MailRow]:
    """The newest messages first; with ``failed_only``, those that failed or wait with an
    error."""
    with read_session(sessions) as session:
        return [
            MailRow.of(row) for row in mail.latest(session, failed_only=failed_only, limit=limit)
        ]


def message(sessions: Sessions, settings: Settings, message_id: int) -> MailDetail:
    """One message with its bodies (as sent, or as they would be sent now)."""
    with read_session(sessions) as session:
        row = session.get(MailMessage, message_id)
        if row is None:
            raise NotFound(f"No email {message_id}.")
        if row.kind in mail.SECRET_KINDS:
            return MailDetail(MailRow.of(row), None, None, hidden=True)
        bodies = mail.preview(session, row, settings)
        return MailDetail(MailRow.of(row), bodies.text, bodies.html, hidden=False)


def send_due(sessions: Sessions, settings: Settings) -> int:
    """Send what is due through the configured transport; how many were attempted (none
    when production has no ``BUYBUTTON_SMTP_URL``: the messages wait)."""
    transport = mail.transport_for(settings)
    if transport is None:
        return 0
    return mail.send_due(sessions, transport, settings)


async def send_forever(sessions: Sessions, settings: Settings, stop: asyncio.Event) -> None:
    """The server's background sender: what is due every ``BUYBUTTON_WEBHOOK_SECONDS``. A
    mail server that cannot be reached never stops anything: the messages wait."""
    problem = mail.warning(settings)
    if problem:
        log.warning(problem)
    while not stop.is_set():
        try:
            while not stop.is_set():
                if await run_in_threadpool(send_due, sessions, settings) < mail.BATCH:
                    break  # all that was due went (or the server is away)
        except Exception:
            log.exception("mail run failed; trying again next time")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.webhook_seconds)


BATCH = mail.BATCH
warning = mail.warning
