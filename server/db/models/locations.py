"""Locations (warehouses and stores) and the stock each one holds of each product.

A product's stock lives in ``stock_levels``, one row per (product, location), with the same
two counters a product used to carry: ``on_hand`` and ``reserved``, and the same CHECK. The
product's total is derived (a sum over the locations that sell online), never stored twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow

# The location every shop has (migration 0025 creates it and moves the old stock there):
# stock edits that name no location land here.
DEFAULT_LOCATION = "MAIN"
LOCATION_KINDS = ("warehouse", "store")


class Location(Base):
    __tablename__ = "locations"
    __table_args__ = (
        CheckConstraint("kind IN ('warehouse', 'store')", name="kind_known"),
        CheckConstraint("lat_e6 BETWEEN -90000000 AND 90000000", name="lat_range"),
        CheckConstraint("lng_e6 BETWEEN -180000000 AND 180000000", name="lng_range"),
        CheckConstraint("pickup_ready_minutes >= 0", name="ready_not_negative"),
        CheckConstraint("reservation_hold_minutes >= 1", name="hold_positive"),
        # The pickup list: active stores that offer pickup.
        Index("ix_locations_active_pickup", "active", "pickup_enabled"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="store")
    country: Mapped[str] = mapped_column(String(2), default="", server_default="")
    region: Mapped[str] = mapped_column(String(64), default="", server_default="")
    city: Mapped[str] = mapped_column(String(100), default="", server_default="")
    postal_code: Mapped[str] = mapped_column(String(32), default="", server_default="")
    line1: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Coordinates in micro-degrees (52.520008 -> 52520008): exact, and cheap to compare.
    lat_e6: Mapped[int | None] = mapped_column(Integer)
    lng_e6: Mapped[int | None] = mapped_column(Integer)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # {"mon": [["09:00", "18:00"]], ...}: validated by domain/locations.py.
    opening_hours: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    pickup_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    pickup_ready_minutes: Mapped[int] = mapped_column(Integer, default=120, server_default="120")
    pickup_instructions: Mapped[str] = mapped_column(Text, default="", server_default="")
    ships: Mapped[bool] = mapped_column(Boolean, default=False)
    accepts_returns: Mapped[bool] = mapped_column(Boolean, default=False)
    reservation_hold_minutes: Mapped[int] = mapped_column(
        Integer, default=2880, server_default="2880"
    )
    # Takes reservations (reserve online, pay at the counter; migration 0028).
    reservations_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    # Routing order: lower first, then id.
    priority: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class StockLevel(Base):
    """What one location holds of one product. Every move is one conditional UPDATE of one
    row (domain/inventory.py); the CHECK is the backstop behind them."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="stock_bounds"),
        # The per-location listings (a store's stock sheet, the local feed).
        Index("ix_stock_levels_location_id", "location_id"),
    )

    # The primary key (product_id, location_id) is the index the pickup look-up uses.
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True
    )
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
