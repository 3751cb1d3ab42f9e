"""Products, their stock (derived from ``stock_levels``) and their price lists."""

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
    Text,
    UniqueConstraint,
    func,
    literal_column,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from .base import Base, utcnow
from .locations import Location, StockLevel


def _online(counter: str, product_id: Mapped[int]) -> Mapped[int]:
    """A product's ``counter`` summed over the active locations that sell online (ship):
    the one definition of "the product's stock", read with the product."""
    level = StockLevel.__table__.c
    return column_property(
        select(func.coalesce(func.sum(level[counter]), literal_column("0")))
        .join(Location, Location.id == level.location_id)
        .where(level.product_id == product_id, Location.ships.is_(True))
        .where(Location.active.is_(True))
        .correlate_except(StockLevel, Location)
        .scalar_subquery()
    )


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("max_per_order >= 1", name="max_per_order_positive"),
        CheckConstraint("weight_grams >= 0", name="weight_not_negative"),
        CheckConstraint(
            "tax_class IN ('standard', 'reduced', 'zero', 'digital')", name="tax_class_known"
        ),
        CheckConstraint("condition IN ('new', 'refurbished', 'used')", name="condition_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(String(2048), default="")
    price_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    requires_shipping: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Products sharing a variant group are one product in several sizes or colours: a link
    # to one of them lets the shopper pick any other (each keeps its own price and stock).
    variant_group: Mapped[str | None] = mapped_column(String(64), index=True)
    variant_label: Mapped[str | None] = mapped_column(String(64))
    # The most one order may take (the merchant's setting): no checkout holds more.
    max_per_order: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    # Shipping by weight; 0 when unknown or irrelevant (digital goods).
    weight_grams: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tax_class: Mapped[str] = mapped_column(
        String(16), default="standard", server_default="standard"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # Derived, read-only: the sums of the selling locations' levels (domain/inventory.py
    # moves stock; nothing writes these).
    on_hand: Mapped[int] = _online("on_hand", id)
    reserved: Mapped[int] = _online("reserved", id)
    # Exact prices in other currencies (never converted); loaded when read.
    prices: Mapped[list[ProductPrice]] = relationship(
        order_by="ProductPrice.currency", cascade="all, delete-orphan", passive_deletes=True
    )
    # What shopping channels (feeds, structured data) ask of a product: domain/feeds_fields.py.
    brand: Mapped[str | None] = mapped_column(String(70))
    gtin: Mapped[str | None] = mapped_column(String(14))
    mpn: Mapped[str | None] = mapped_column(String(70))
    condition: Mapped[str] = mapped_column(String(16), default="new", server_default="new")
    google_category: Mapped[str | None] = mapped_column(String(250))

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved, 0)


class ProductPrice(Base):
    """A product's exact price in a currency other than its own (its own currency's price is
    the product's ``price_amount``, never a row here)."""

    __tablename__ = "product_prices"
    __table_args__ = (
        UniqueConstraint("product_id", "currency", name="uq_product_prices_product_currency"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(CHAR(3))
    amount: Mapped[int] = mapped_column(BigInteger)
