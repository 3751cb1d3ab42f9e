"""The mail outbox: queued in the caller's transaction, sent later, each message once.

- :func:`enqueue` adds a message inside the transaction of the change that causes it, so an
  order is never paid without its receipt queued, and a rolled-back change queues nothing.
  Its ``dedupe_key`` is UNIQUE: the same event queued twice (a duplicate provider event, two
  workers) leaves one message (``INSERT … ON CONFLICT DO NOTHING``).
- :func:`send_due` claims each due message with one conditional ``UPDATE`` (``queued`` →
  ``sending`` with a fresh claim token, until :data:`CLAIM_FOR` from now), as webhook
  deliveries are claimed: two senders never both send one message. The outcome is written
  only while the claim is still the sender's.
- A 5xx refusal (a bounced recipient) and a message that cannot be composed (a recipient
  that is not one address, a header the email package refuses) make the message ``failed``
  at once, with its error; anything else (unreachable, 4xx, a login refused) is retried
  after :data:`RETRY_DELAYS`, then ``failed``. One bad message never stops the batch; only
  an unreachable server does (the rest wait their turn).
  A message whose sender died mid-send is taken over once its claim runs out.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import read_session, write_session
from buybutton_server.db.models import MailMessage, utcnow
from buybutton_server.domain.mail import messages
from buybutton_server.domain.mail.transports import MailDeferred, MailRefused, Transport
from buybutton_server.domain.shop_profile import ShopIdentity, identity
from buybutton_server.settings import Settings

log = logging.getLogger("buybutton.mail")

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
STATUSES = (QUEUED, SENDING, SENT, FAILED)
# After the first try, wait these long (each with up to 20% more), then give up: about a day.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=15),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
BATCH = 20  # messages per run of the sender
CLAIM_FOR = timedelta(minutes=2)  # longer than an SMTP exchange with its timeouts
# A password-reset body is kept without its link once sent.
LINK_REMOVED = "(link removed once sent)"


def enqueue(
    session: Session,
    *,
    kind: str,
    dedupe_key: str,
    to: str,
    subject: str,
    data: dict[str, Any],
    order_id: int | None = None,
) -> bool:
    """Queue one email in the caller's transaction; False if ``dedupe_key`` was queued
    already (nothing is written then)."""
    if kind not in messages.KINDS:
        raise ValueError(f"unknown kind of email {kind!r}")
    now = utcnow()
    values = {
        "kind": kind,
        "dedupe_key": dedupe_key[:160],
        "to_address": to,
        "subject": subject[:255],
        "data": json.dumps(data, separators=(",", ":")),
        "status": QUEUED,
        "attempts": 0,
        "next_attempt_at": now,
        "order_id": order_id,
        "created_at": now,
    }
    connection = session.connection()
    # Whether a row came back, not the rowcount: psycopg reported 1 for an insert that
    # ON CONFLICT DO NOTHING had skipped.
    return connection.execute(_insert(connection.dialect.name), values).first() is not None


_INSERTS: dict[str, Any] = {}


def _insert(dialect: str) -> Any:
    """The outbox's insert-unless-queued statement, built once per dialect (building it per
    message was a fifth of a paid order's email cost)."""
    statement = _INSERTS.get(dialect)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(MailMessage)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(MailMessage.id)
        )
        _INSERTS[dialect] = statement
    return statement


def _due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(MailMessage.id)
            .where(
                MailMessage.status.in_((QUEUED, SENDING)),
                MailMessage.next_attempt_at <= now,
            )
            .order_by(MailMessage.next_attempt_at, MailMessage.id)
            .limit(limit)
        )
    )


@dataclass(frozen=True, slots=True)
class _Claimed:
    token: str
    message: Any  # EmailMessage, or None when composing failed
    bodies: messages.Bodies | None
    error: str | None
    kind: str
    data: dict[str, Any]
    to: str
    permanent: bool = False  # composing failed for good: no retry


def _compose(row: MailMessage, shop: ShopIdentity, settings: Settings, token: str) -> _Claimed:
    """The claimed message, rendered and composed, outside any transaction; any failure is
    returned, never raised, so one bad message (a header that cannot be written, a template
    bug) never stops the batch. A message that cannot be composed (its recipient, subject or
    sender) fails at once; a template bug is retried."""
    kind, to = row.kind, row.to_address
    data: dict[str, Any] = {}
    try:
        data = json.loads(row.data)
        bodies = messages.render(
            kind,
            data,
            shop=shop,
            base_url=settings.base_url,
            secret_keys=settings.secret_keys,
            subject_line=row.subject,
        )
    except Exception as error:  # a template bug: retried, and visible on the message
        log.exception("mail %s: composing failed", row.id)
        return _Claimed(token, None, None, f"could not compose: {error}", kind, data, to)
    try:
        email = messages.compose(
            to=to,
            subject_line=row.subject,
            bodies=bodies,
            from_header=messages.sender(settings, shop),
            message_id=row.message_id or messages.new_message_id(settings),
            reply_to=shop.support_email,
        )
        email.as_bytes()  # what a transport does with it: fails here, not mid-batch
    except messages.BadRecipient as error:
        return _Claimed(token, None, bodies, str(error), kind, data, to, permanent=True)
    except Exception as error:  # e.g. a header the email package refuses
        log.warning("mail %s: composing failed: %s", row.id, type(error).__name__)
        return _Claimed(
            token, None, bodies, f"could not compose: {error}", kind, data, to, permanent=True
        )
    return _Claimed(token, email, bodies, None, kind, data, to)


def _claim(
    sessions: sessionmaker[Session], message_id: int, settings: Settings, now: datetime
) -> _Claimed | None:
    """Take one due message (or one whose sender died) and compose it; None if another
    sender has it. The claim is a short write transaction; composing (templates and the
    email package, tens of milliseconds) happens after it commits, so checkouts never wait
    for the write lock while an email is rendered."""
    token = secrets.token_hex(16)
    due = and_(MailMessage.next_attempt_at <= now, MailMessage.status.in_((QUEUED, SENDING)))
    with write_session(sessions) as session:
        moved = session.execute(
            update(MailMessage)
            .where(MailMessage.id == message_id, due)
            .values(
                status=SENDING,
                claim=token,
                attempts=MailMessage.attempts + 1,
                next_attempt_at=now + CLAIM_FOR,
            )
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            return None
        row = session.get_one(MailMessage, message_id, populate_existing=True)
        if row.message_id is None:
            row.message_id = messages.new_message_id(settings)
        shop = identity(session)
    return _compose(row, shop, settings, token)  # the row stays loaded after the commit


def _record(
    sessions: sessionmaker[Session],
    message_id: int,
    claimed: _Claimed,
    *,
    error: str | None,
    permanent: bool,
    now: datetime,
) -> None:
    """Write one attempt's outcome, if the claim is still ours. The recipient's address is
    taken out of the error (mail servers quote it back)."""
    if error is not None:
        error = error.replace(claimed.to, "<recipient>")[:255]
    values: dict[str, Any] = {"claim": None, "last_error": error}
    bodies = claimed.bodies
    if bodies is not None:
        text, html = bodies.text, bodies.html
        if claimed.kind in messages.SECRET_KINDS and (error is None or permanent):
            link = str(claimed.data.get("reset_url", ""))
            if link:
                text = text.replace(link, LINK_REMOVED)
                html = html.replace(link, LINK_REMOVED).replace(
                    link.replace("&", "&amp;"), LINK_REMOVED
                )
                data = {**claimed.data, "reset_url": LINK_REMOVED}
                values["data"] = json.dumps(data, separators=(",", ":"))
            for shown in messages.code_forms(claimed.data):  # a pickup code
                text = text.replace(shown, messages.CODE_REMOVED)
                html = html.replace(shown, messages.CODE_REMOVED)
            if messages.code_forms(claimed.data):
                data = {**claimed.data, "code": messages.CODE_REMOVED}
                values["data"] = json.dumps(data, separators=(",", ":"))
        values.update(text_body=text, html_body=html)
    ours = and_(MailMessage.id == message_id, MailMessage.claim == claimed.token)
    with write_session(sessions) as session:
        if error is None:
            values.update(status=SENT, sent_at=now, next_attempt_at=None)
        else:
            attempts = session.scalar(select(MailMessage.attempts).where(ours))
            if attempts is None:
                return  # the claim ran out and another sender took the message over
            if permanent or attempts >= MAX_ATTEMPTS:
                values.update(status=FAILED, next_attempt_at=None)
            else:
                delay = RETRY_DELAYS[attempts - 1]
                values.update(
                    status=QUEUED, next_attempt_at=now + delay + delay * random.uniform(0, 0.2)
                )
        session.execute(update(MailMessage).where(ours).values(**values))


def send_due(
    sessions: sessionmaker[Session],
    transport: Transport,
    settings: Settings,
    *,
    now: Callable[[], datetime] = utcnow,
    limit: int = BATCH,
) -> int:
    """Send the messages that are due, one batch through ``transport``; how many were
    attempted. A server that cannot be reached ends the batch: the rest wait their turn."""
    with read_session(sessions) as session:
        due = _due_ids(session, now(), limit)
    if not due:
        return 0
    attempted = 0
    with transport.batch() as channel:
        for message_id in due:
            claimed = _claim(sessions, message_id, settings, now())
            if claimed is None:
                continue  # another sender has it
            attempted += 1
            error, permanent, unreachable = claimed.error, claimed.permanent, False
            if claimed.message is not None:
                try:
                    channel.send(claimed.message)
                except MailRefused as refused:
                    error, permanent = str(refused), True
                except MailDeferred as deferred:
                    error, unreachable = str(deferred), True
                except Exception as unexpected:  # retried later; the batch goes on
                    log.exception("email %s: sending failed", message_id)
                    error = f"could not send: {type(unexpected).__name__}: {unexpected}"
            _record(sessions, message_id, claimed, error=error, permanent=permanent, now=now())
            if error is not None:
                shown = error.replace(claimed.to, "<recipient>")
                log.warning("email %s not sent: %s", message_id, shown)
                if unreachable:  # the server is down or busy: the rest wait their turn
                    break
    return attempted


def preview(session: Session, row: MailMessage, settings: Settings) -> messages.Bodies:
    """The bodies a message has (once sent or tried), or would have if it were sent now."""
    if row.text_body is not None and row.html_body is not None:
        return messages.Bodies(row.text_body, row.html_body)
    shop: ShopIdentity = identity(session)
    return messages.render(
        row.kind,
        json.loads(row.data),
        shop=shop,
        base_url=settings.base_url,
        secret_keys=settings.secret_keys,
        subject_line=row.subject,
    )


def latest(session: Session, *, failed_only: bool, limit: int) -> list[MailMessage]:
    """Messages newest first (only failed ones, or ones waiting with an error, if asked)."""
    query = select(MailMessage).order_by(MailMessage.created_at.desc(), MailMessage.id.desc())
    if failed_only:
        query = query.where(
            or_(
                MailMessage.status == FAILED,
                and_(MailMessage.status != SENT, MailMessage.last_error.is_not(None)),
            )
        )
    return list(session.scalars(query.limit(limit)))
