"""Analytics events and their daily rollups."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class AnalyticsEvent(Base):
    """Append-only funnel events: no personal data, no visitor id, just what happened to
    which product from which placement, and when. The covering index serves the reports."""

    __tablename__ = "analytics_events"
    __table_args__ = (
        # ``<kind>_line``: a multi-item order's or link's lines after the first (migration
        # 0020), so reports credit every product but count an order once.
        CheckConstraint(
            "kind IN ('impression', 'click', 'checkout_started', 'payment_succeeded', "
            "'payment_failed', 'refunded', 'impression_line', 'click_line', "
            "'checkout_started_line', 'payment_succeeded_line', 'payment_failed_line', "
            "'refunded_line')",
            name="kind_known",
        ),
        Index(
            "ix_analytics_events_report",
            "occurred_at",
            "kind",
            "sku",
            "source",
            "campaign",
            "content",
            "amount",
            "currency",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    sku: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    campaign: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AnalyticsDaily(Base):
    """Funnel events past the raw-event period, summed per UTC day, product, placement, kind
    and currency (domain/retention.py); the reports read them beside the raw events."""

    __tablename__ = "analytics_daily"
    __table_args__ = (Index("ix_analytics_daily_report", "day", "kind", "sku", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(24))
    sku: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    campaign: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(3))
    events: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)


# The funnel's kinds, one count column each on the rollups (domain/analytics.py KINDS and
# LINE_KINDS; migration 0031 creates the same columns).
ROLLUP_COUNTS = (
    "impression", "click", "checkout_started", "payment_succeeded", "payment_failed",
    "refunded", "impression_line", "click_line", "checkout_started_line",
    "payment_succeeded_line", "payment_failed_line", "refunded_line",
)  # fmt: skip


class AnalyticsRollup(Base):
    """Funnel totals per time block, product, placement and currency (domain/rollups.py).

    A block is ``span`` hours (1, 2, 4 ... 4096) starting at hour ``hour`` since the Unix
    epoch, a multiple of ``span``: every event is counted once at every span, so any range
    of whole hours is a handful of blocks whatever the number of events. Missing placement
    parts and currency are ``''`` (a key column cannot be NULL)."""

    __tablename__ = "analytics_rollups"
    __table_args__ = {"sqlite_with_rowid": False}

    span: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    impression: Mapped[int] = mapped_column(BigInteger, default=0)
    click: Mapped[int] = mapped_column(BigInteger, default=0)
    checkout_started: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_succeeded: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_failed: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    impression_line: Mapped[int] = mapped_column(BigInteger, default=0)
    click_line: Mapped[int] = mapped_column(BigInteger, default=0)
    checkout_started_line: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_succeeded_line: Mapped[int] = mapped_column(BigInteger, default=0)
    payment_failed_line: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_line: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue: Mapped[int] = mapped_column(BigInteger, default=0)
    refunds: Mapped[int] = mapped_column(BigInteger, default=0)


class RollupState(Base):
    """One row: the highest analytics event id already counted in ``analytics_rollups``."""

    __tablename__ = "analytics_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
