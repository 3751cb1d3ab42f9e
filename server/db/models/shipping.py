"""Shipping zones (where a shop sends goods) and their rates (what sending costs).

A zone covers areas: a whole country, a region of it (``US``/``CA``) or a postal-code
prefix (``DE``/``10``); an area belongs to at most one zone. A rate is a zone's price in one
currency: flat, free over an amount of goods, or by weight in brackets. Amounts are minor
units.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class ShippingZone(Base):
    __tablename__ = "shipping_zones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The order on the admin's page (smaller first); matching goes by specificity.
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    areas: Mapped[list[ShippingZoneArea]] = relationship(
        order_by="ShippingZoneArea.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    rates: Mapped[list[ShippingRate]] = relationship(
        order_by="ShippingRate.id", cascade="all, delete-orphan", passive_deletes=True
    )


class ShippingZoneArea(Base):
    """A country, a region of it, or a postal prefix in it ('' when not narrowed)."""

    __tablename__ = "shipping_zone_areas"
    __table_args__ = (
        # One zone per area: "which zone is DE?" has one answer.
        UniqueConstraint("country", "region", "postal_prefix", name="uq_shipping_zone_areas_area"),
        CheckConstraint("length(country) = 2", name="country_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[int] = mapped_column(
        ForeignKey("shipping_zones.id", ondelete="CASCADE"), index=True
    )
    country: Mapped[str] = mapped_column(CHAR(2))
    region: Mapped[str] = mapped_column(String(32), default="", server_default="")
    postal_prefix: Mapped[str] = mapped_column(String(16), default="", server_default="")


class ShippingRate(Base):
    """``flat``: ``amount``. ``free_over``: ``amount`` below ``free_over_amount`` of goods,
    nothing from it on. ``weight``: the price of the lightest bracket that holds the cart
    (``amount`` is 0 and unused)."""

    __tablename__ = "shipping_rates"
    __table_args__ = (
        CheckConstraint("kind IN ('flat', 'free_over', 'weight')", name="kind_known"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint(
            "(kind = 'free_over' AND free_over_amount IS NOT NULL AND free_over_amount >= 0)"
            " OR (kind <> 'free_over' AND free_over_amount IS NULL)",
            name="free_over_amount_for_free_over",
        ),
        CheckConstraint("kind <> 'weight' OR amount = 0", name="weight_priced_by_brackets"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[int] = mapped_column(
        ForeignKey("shipping_zones.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(CHAR(3))
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    free_over_amount: Mapped[int | None] = mapped_column(BigInteger)
    delivery_estimate: Mapped[str] = mapped_column(String(100), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    brackets: Mapped[list[ShippingRateBracket]] = relationship(
        order_by="ShippingRateBracket.up_to_grams",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ShippingRateBracket(Base):
    """A weight rate's price for carts weighing at most ``up_to_grams``."""

    __tablename__ = "shipping_rate_brackets"
    __table_args__ = (
        UniqueConstraint("rate_id", "up_to_grams", name="uq_shipping_rate_brackets_weight"),
        CheckConstraint("up_to_grams > 0", name="up_to_positive"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rate_id: Mapped[int] = mapped_column(ForeignKey("shipping_rates.id", ondelete="CASCADE"))
    up_to_grams: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
