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
