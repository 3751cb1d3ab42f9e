"""Analytics events and the running totals the reports read (domain/rollups.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    String,
    UniqueConstraint,
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
        # Ids never reused, even when retention has emptied the table: the roll-up's mark
        # (domain/rollups.py) counts by id (migration 0035).
        {"sqlite_autoincrement": True},
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


# The funnel's kinds, one count column each on the rollups (domain/analytics.py KINDS and
# LINE_KINDS; migration 0031 creates the same columns).
ROLLUP_COUNTS = (
    "impression", "click", "checkout_started", "payment_succeeded", "payment_failed",
    "refunded", "impression_line", "click_line", "checkout_started_line",
    "payment_succeeded_line", "payment_failed_line", "refunded_line",
)  # fmt: skip


ROLLUP_COLUMNS = (*ROLLUP_COUNTS, "revenue", "refunds")


class _Counts:
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


class _StartCounts:
    """A key's totals before the slot ``analytics_rollup_state.start_slot``: the start of a
    report over :data:`rollups.START_WINDOW` up to now, kept by the roll-up (migration 0041)."""

    start_impression: Mapped[int] = mapped_column(BigInteger, default=0)
    start_click: Mapped[int] = mapped_column(BigInteger, default=0)
    start_checkout_started: Mapped[int] = mapped_column(BigInteger, default=0)
    start_payment_succeeded: Mapped[int] = mapped_column(BigInteger, default=0)
    start_payment_failed: Mapped[int] = mapped_column(BigInteger, default=0)
    start_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    start_impression_line: Mapped[int] = mapped_column(BigInteger, default=0)
    start_click_line: Mapped[int] = mapped_column(BigInteger, default=0)
    start_checkout_started_line: Mapped[int] = mapped_column(BigInteger, default=0)
    start_payment_succeeded_line: Mapped[int] = mapped_column(BigInteger, default=0)
    start_payment_failed_line: Mapped[int] = mapped_column(BigInteger, default=0)
    start_refunded_line: Mapped[int] = mapped_column(BigInteger, default=0)
    start_revenue: Mapped[int] = mapped_column(BigInteger, default=0)
    start_refunds: Mapped[int] = mapped_column(BigInteger, default=0)


class AnalyticsKey(_Counts, _StartCounts, Base):
    """A product and placement (and currency) the funnel has seen: the report's rows, one
    integer for the totals to carry instead of five strings (domain/rollups.py). Missing
    parts are ``''``. ``currency`` is ``''`` until money is first counted for the key (a
    key with ``''`` never holds money, so the roll-up may give it the first currency). The
    counts are the key's latest row of ``analytics_totals`` (slot ``last_slot``; ``None``:
    no row yet), kept by the roll-up: a report up to now reads them here, not there; the
    ``start_`` counts are its totals before the state's ``start_slot`` (the start of the
    dashboard's 30 days up to now), so that report reads no other row."""

    __tablename__ = "analytics_keys"
    __table_args__ = (UniqueConstraint("sku", "source", "campaign", "content", "currency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    campaign: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    last_slot: Mapped[int | None] = mapped_column(Integer)


class AnalyticsTotal(_Counts, Base):
    """Running totals (migration 0035, domain/rollups.py): the row ``(key_id, slot)`` holds
    every counted event of the key up to the end of 15-minute ``slot`` (since the Unix
    epoch). Rows exist for the slots where the key had events; a range's figures are the
    latest row before its end minus the latest row before its start."""

    __tablename__ = "analytics_totals"
    __table_args__ = {"sqlite_with_rowid": False}

    key_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)


class RollupWork(_Counts, Base):
    """Scratch rows of one roll-up transaction (empty between them): the batch's running
    sums per key and slot. A table, not a temporary one, so it works behind PgBouncer."""

    __tablename__ = "analytics_rollup_work"
    __table_args__ = {"sqlite_with_rowid": False}

    key_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)


class RollupState(Base):
    """One row: the highest analytics event id already counted in ``analytics_totals``, the
    first slot the totals still cover (earlier rows forgotten by retention) and the slot of
    the keys' start counts."""

    __tablename__ = "analytics_rollup_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    kept_from: Mapped[int] = mapped_column(Integer, default=0)
    # The slot the keys' ``start_`` counts stop before (``None``: not counted yet, or an
    # event older than it was counted since).
    start_slot: Mapped[int | None] = mapped_column(Integer)
