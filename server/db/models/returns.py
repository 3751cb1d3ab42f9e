"""Returns: a shopper's request to send some lines of an order back, and what came of it.

A return moves ``requested`` → ``approved`` → ``received`` → ``refunded``, or ends
``rejected``; each move is one conditional ``UPDATE`` from the status it expects
(domain/returns.py). Its lines say how many units of which order line come back; across an
order's returns that are not rejected, never more than were bought (checked with the order
row locked, in the transaction that writes the return).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .locations import Location
from .orders import Order, OrderLine


class Return(Base):
    __tablename__ = "returns"
    __table_args__ = (
        CheckConstraint(
            "status IN ('requested', 'approved', 'received', 'refunded', 'rejected')",
            name="status_known",
        ),
        CheckConstraint("refund_amount IS NULL OR refund_amount >= 0", name="refund_not_negative"),
        Index("ix_returns_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    # One of domain.returns.REASONS, and the shopper's own words.
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(String(500))
    # The request form's one-time key: the same form posted twice makes one return.
    request_key: Mapped[str] = mapped_column(String(64), unique=True)
    # What the merchant wrote when rejecting.
    decision_note: Mapped[str | None] = mapped_column(String(500))
    refund_amount: Mapped[int | None] = mapped_column(BigInteger)
    restocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Received at a store's counter (issue 15): restocked there; None: by post, to MAIN.
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))

    order: Mapped[Order] = relationship()
    location: Mapped[Location | None] = relationship(lazy="joined")
    lines: Mapped[list[ReturnLine]] = relationship(
        back_populates="ret", cascade="all, delete-orphan", order_by="ReturnLine.id"
    )


class ReturnLine(Base):
    __tablename__ = "return_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("return_id", "order_line_id", name="uq_return_lines_return_line"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(
        ForeignKey("order_lines.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int] = mapped_column(Integer)

    ret: Mapped[Return] = relationship(back_populates="lines")
    order_line: Mapped[OrderLine] = relationship()
