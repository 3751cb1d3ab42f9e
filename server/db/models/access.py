"""Who may do what: admin logins and sessions, API keys, idempotency records, rate-limit
windows and short links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
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


class RateLimitWindow(Base):
    """Hits per key in one fixed time window, shared by every worker process."""

    __tablename__ = "rate_limit_windows"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)


class ShortLink(Base):
    """``/l/{code}``: a short, shareable checkout link whose pre-fill stays in the database, so
    no personal data sits in a URL that is posted, forwarded or printed."""

    __tablename__ = "short_links"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    email: Mapped[str | None] = mapped_column(String(254))
    name: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(64))
    campaign: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[str | None] = mapped_column(String(64))
    # The creator whose post the link is, as signed into links (docs/commissions.md).
    creator: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A multi-item link's lines and a link's discount codes, as canonical JSON text
    # (``[["MUG-01", 2], ["TEE-M", 1]]``, ``["WELCOME10"]``); ``sku``/``quantity`` repeat the
    # first line. Text, not a JSON type, so equal links compare equal in SQL (reuse).
    items: Mapped[str | None] = mapped_column(Text)
    codes: Mapped[str | None] = mapped_column(String(200))
    # A pre-filled shipping address, validated when minted (``country`` set: there is one).
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    line1: Mapped[str | None] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    sorting_code: Mapped[str | None] = mapped_column(String(20))


class AdminUser(Base):
    """A merchant's login for the admin. ``owner`` may do everything; ``staff`` may not manage
    API keys, webhook endpoints, logins or the shop's settings."""

    __tablename__ = "admin_users"
    __table_args__ = (CheckConstraint("role IN ('owner', 'staff')", name="role_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="owner", server_default="owner")
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AdminSession(Base):
    """A signed-in browser. Only a hash of the cookie's secret is stored; rows live in the
    database so every worker process knows every session."""

    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    """A key for the REST API. The secret is shown once; only its SHA-256 is kept. The
    ``prefix`` (``bb_read_…`` or ``bb_write_…`` plus 8 characters) is what lists and logs
    show, so a leaked key can be recognised and revoked."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("scope IN ('read', 'write')", name="scope_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyRecord(Base):
    """The answer given to a write request with an ``Idempotency-Key``: the same key and
    body get the same answer again; the same key with another body is a conflict."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("api_key_id", "key", name="key_per_api_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Deleting by age (the retention job).
Index("ix_idempotency_records_created_at", IdempotencyRecord.created_at)
