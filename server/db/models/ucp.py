"""UCP checkout sessions (``/ucp/checkout-sessions``) and the answers given to their writes.

A session keeps what the agent chose, never a price: the lines (``sku``, quantity), the
buyer, the shipping destination and option, and the codes, each as JSON text. Prices and
totals are quoted afresh from the catalog on every answer (:mod:`..domain.quoting`).
``answer`` is the JSON of the last checkout returned, kept so a finished session reads back
exactly as it ended. ``handoff_code`` is the short link minted for ``continue_url`` and
``handoff_state`` the fingerprint of the state it was minted for.

A session id is no bearer key: ``agent`` is the SHA-256 of the profile URL of the agent that
created it, and the API answers not-found to any other agent. ``continue_url`` carries a
random id of its own, ``continue_id``, which the API never accepts. (``agent`` is empty and
``continue_id`` NULL only on rows written outside the API: such a session is unreachable.)

``UcpHandoff`` maps every short link minted for a session's ``continue_url`` to the session,
so an order placed on our page through any of them is recorded on the session
(``order_public_id``), which reads ``completed`` once that order is paid.

``UcpIdempotencyKey`` stores the first answer to a write under an ``Idempotency-Key``, per
agent (the SHA-256 of its profile URL): the same key and body get it again, another body is
a conflict.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow

UCP_STATUSES = (
    "incomplete",
    "requires_escalation",
    "ready_for_complete",
    "complete_in_progress",
    "completed",
    "canceled",
)


class UcpCheckoutSession(Base):
    __tablename__ = "ucp_checkout_sessions"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in UCP_STATUSES) + ")", name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    agent: Mapped[str] = mapped_column(String(64), server_default="")
    continue_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    line_items: Mapped[str] = mapped_column(Text)
    buyer: Mapped[str] = mapped_column(Text, default="{}")
    destination: Mapped[str | None] = mapped_column(Text)
    shipping_option: Mapped[str | None] = mapped_column(String(64))
    codes: Mapped[str] = mapped_column(Text, default="[]")
    order_public_id: Mapped[str | None] = mapped_column(String(64))
    handoff_code: Mapped[str | None] = mapped_column(String(16))
    handoff_state: Mapped[str | None] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UcpHandoff(Base):
    __tablename__ = "ucp_handoffs"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("ucp_checkout_sessions.id", ondelete="CASCADE"), index=True
    )


class UcpIdempotencyKey(Base):
    __tablename__ = "ucp_idempotency_keys"
    __table_args__ = (UniqueConstraint("agent", "key", name="key_per_agent"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Deleting by age (expired sessions, keys older than a day or two).
Index("ix_ucp_checkout_sessions_expires_at", UcpCheckoutSession.expires_at)
Index("ix_ucp_idempotency_keys_created_at", UcpIdempotencyKey.created_at)
