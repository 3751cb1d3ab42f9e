"""Discount codes, the products a code is limited to, and each order's use of a code.

A code is stored upper case (codes are case-insensitive). ``times_used`` counts the orders
holding the code; the database refuses it below zero or above ``usage_limit``, and the
order-placing transaction moves it with one conditional ``UPDATE``
(:mod:`buybutton_server.domain.discounts`). Amounts are minor units of ``currency``; a code
with no amount and no minimum (a percentage or free shipping) has no currency and works in
every currency.
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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class DiscountCode(Base):
    __tablename__ = "discount_codes"
    __table_args__ = (
        CheckConstraint("kind IN ('percent', 'fixed', 'free_shipping')", name="kind_known"),
        CheckConstraint("scope IN ('all', 'products', 'collection')", name="scope_known"),
        CheckConstraint("code = upper(code)", name="code_upper_case"),
        CheckConstraint(
            "kind <> 'percent' OR (percent_bp >= 1 AND percent_bp <= 10000)", name="percent_range"
        ),
        CheckConstraint("kind <> 'fixed' OR amount > 0", name="fixed_has_amount"),
        CheckConstraint("min_subtotal IS NULL OR min_subtotal >= 0", name="min_not_negative"),
        CheckConstraint(
            "(amount IS NULL AND min_subtotal IS NULL) OR currency IS NOT NULL",
            name="money_has_currency",
        ),
        CheckConstraint("times_used >= 0", name="times_used_not_negative"),
        CheckConstraint(
            "usage_limit IS NULL OR (usage_limit >= 1 AND times_used <= usage_limit)",
            name="usage_within_limit",
        ),
        CheckConstraint(
            "per_customer_limit IS NULL OR per_customer_limit >= 1", name="per_customer_positive"
        ),
        CheckConstraint("scope <> 'collection' OR collection IS NOT NULL", name="collection_named"),
        CheckConstraint(
            "starts_at IS NULL OR ends_at IS NULL OR ends_at > starts_at", name="dates_in_order"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    # A percentage in basis points (1500 = 15 %); only for kind 'percent'.
    percent_bp: Mapped[int | None] = mapped_column(Integer)
    # What a 'fixed' code takes off, in minor units of ``currency``.
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    # The least the in-scope lines must come to before the code applies.
    min_subtotal: Mapped[int | None] = mapped_column(BigInteger)
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    usage_limit: Mapped[int | None] = mapped_column(Integer)
    times_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    per_customer_limit: Mapped[int | None] = mapped_column(Integer)
    scope: Mapped[str] = mapped_column(String(16), default="all", server_default="all")
    # For scope 'collection': the products' variant group.
    collection: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A creator's code (migration 0026): an order using it owes that creator their fee.
    payee_id: Mapped[int | None] = mapped_column(
        ForeignKey("payees.id", ondelete="SET NULL"), index=True
    )

    skus: Mapped[list[DiscountCodeSku]] = relationship(
        order_by="DiscountCodeSku.sku", cascade="all, delete-orphan", passive_deletes=True
    )


class DiscountCodeSku(Base):
    """A product a code of scope 'products' applies to, by sku."""

    __tablename__ = "discount_code_skus"
    __table_args__ = (UniqueConstraint("code_id", "sku", name="uq_discount_code_skus_code_sku"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("discount_codes.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(64))


class DiscountRedemption(Base):
    """An order's use of a code. ``email_hash`` is the SHA-256 of the buyer's normalised
    email (no raw email is kept here), for per-customer limits. ``released_at`` is set when
    the order failed or was canceled: the use no longer counts."""

    __tablename__ = "discount_redemptions"
    __table_args__ = (
        UniqueConstraint("code_id", "order_id", name="uq_discount_redemptions_code_order"),
        Index("ix_discount_redemptions_code_email", "code_id", "email_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("discount_codes.id", ondelete="CASCADE"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    email_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
