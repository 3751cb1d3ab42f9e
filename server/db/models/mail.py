"""The mail outbox: one row per email, written in the transaction of the change that causes it
(an order paid, a refund, a shipment, a password reset) and sent later by the background task
or ``buybutton worker`` (domain/mail/outbox.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class MailMessage(Base):
    """One email. ``dedupe_key`` names the event it tells of ("receipt:1042-AB:1"): the same
    event never queues two messages (a deliberate resend uses a new key). ``data`` is what
    the message says (JSON); the bodies are composed from it when it is sent and kept.

    ``queued`` → ``sending`` (claimed by one sender until ``next_attempt_at``) → ``sent``, or
    back to ``queued`` with ``last_error`` for a retry, or ``failed`` (refused by the mail
    server, or out of attempts)."""

    __tablename__ = "mail_messages"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed')", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_mail_messages_due", "status", "next_attempt_at"),
        Index("ix_mail_messages_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    data: Mapped[str] = mapped_column(Text, default="{}")
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    claim: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(255))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
