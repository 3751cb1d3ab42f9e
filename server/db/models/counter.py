"""The store counter: which locations a staff login works at, and each pickup order's
handover (ready, its code, collected).

A staff login with rows in ``staff_locations`` sees only those locations' orders at
``/store``; a login with none (and every owner) sees every location. A pickup's 6-digit code
is never stored: ``code_hash`` is an HMAC of it under the shop's secret key
(domain/counter.py), and ``attempts`` counts wrong codes typed for it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class StaffLocation(Base):
    __tablename__ = "staff_locations"
    __table_args__ = (Index("ix_staff_locations_location_id", "location_id"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True
    )


class OrderPickup(Base):
    """A pickup or reservation order at the counter: marked ready (a code sent to the
    shopper) and collected. No row: the store has not marked it ready."""

    __tablename__ = "order_pickups"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_order_pickups_location_id", "location_id", "collected_at"),
    )

    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ready_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ready_by: Mapped[int | None] = mapped_column(ForeignKey("admin_users.id", ondelete="SET NULL"))
    collected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    collected_by: Mapped[int | None] = mapped_column(
        ForeignKey("admin_users.id", ondelete="SET NULL")
    )
