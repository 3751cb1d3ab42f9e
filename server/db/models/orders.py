"""Orders, their lines, refunds and the payment events already applied."""

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


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'reserved', 'paid', 'failed', 'canceled', 'refunded')",
            name="status_known",
        ),
        # How the order reaches the shopper (migration 0028): a pickup or a reservation
        # names its store; only a reservation is ever ``reserved`` (unpaid, held in store).
        CheckConstraint(
            "fulfilment_method IN ('shipping', 'pickup', 'reserve')", name="fulfilment_known"
        ),
        CheckConstraint(
            "fulfilment_method = 'shipping' OR pickup_location_id IS NOT NULL",
            name="pickup_has_location",
        ),
        CheckConstraint(
            "status <> 'reserved' OR fulfilment_method = 'reserve'", name="reserved_is_reservation"
        ),
        CheckConstraint("total_amount >= 0", name="total_not_negative"),
        # The amount charged is the total shown: the parts add up to it, in every row.
        CheckConstraint(
            "subtotal_amount - discount_amount + shipping_amount"
            " + CASE WHEN tax_included THEN 0 ELSE tax_amount END = total_amount",
            name="totals_add_up",
        ),
        CheckConstraint(
            "subtotal_amount >= 0 AND discount_amount >= 0 AND shipping_amount >= 0"
            " AND tax_amount >= 0",
            name="parts_not_negative",
        ),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= total_amount", name="refund_bounds"
        ),
        Index("ix_orders_status_reserved_until", "status", "reserved_until"),
        Index("ix_orders_status_created_at", "status", "created_at"),
        Index("ix_orders_hold_client", "hold_client", "status"),
        Index("ix_orders_hold_link", "hold_link", "status"),
        Index("ix_orders_pickup_location_status", "pickup_location_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Unguessable key for the shopper's order page; ``number`` is what people read out.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    # The checkout attempt this order came from: a double tap reuses it and finds this row.
    attempt_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    currency: Mapped[str] = mapped_column(String(3))
    total_amount: Mapped[int] = mapped_column(BigInteger)
    # The parts of the total, as priced on the server (domain.quoting) when the order was
    # placed: goods, what discounts took off them and shipping, shipping charged (after a
    # free-shipping code), and tax: contained in the prices (``tax_included``) or added.
    subtotal_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    shipping_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tax_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tax_included: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # The shipping option chosen (``rate-12``) and its title as the shopper saw it.
    shipping_option: Mapped[str | None] = mapped_column(String(32))
    shipping_title: Mapped[str | None] = mapped_column(String(100))
    # The discount codes applied, space-separated, upper case.
    discount_codes: Mapped[str | None] = mapped_column(String(200))

    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(200))
    ship_line1: Mapped[str | None] = mapped_column(String(200))
    ship_line2: Mapped[str | None] = mapped_column(String(200))
    ship_city: Mapped[str | None] = mapped_column(String(100))
    ship_postal_code: Mapped[str | None] = mapped_column(String(20))
    ship_country: Mapped[str | None] = mapped_column(String(64))
    # The state or province code where the country has them (CA for California).
    ship_region: Mapped[str | None] = mapped_column(String(64))
    # The language tag the checkout was in (de-AT); the order's emails use it (0039).
    locale: Mapped[str | None] = mapped_column(String(35))

    source: Mapped[str | None] = mapped_column(String(64))
    campaign: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[str | None] = mapped_column(String(64))
    # The first touch of this browser within the attribution window (the link above is the
    # last touch); from a first-party cookie on the checkout origin, never set under DNT/GPC.
    first_source: Mapped[str | None] = mapped_column(String(64))
    first_campaign: Mapped[str | None] = mapped_column(String(64))
    first_content: Mapped[str | None] = mapped_column(String(64))
    first_touch_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    payment_provider: Mapped[str] = mapped_column(String(32))
    payment_method: Mapped[str | None] = mapped_column(String(32))
    payment_reference: Mapped[str | None] = mapped_column(String(255), index=True)
    # What the provider last said (requires_action, processing, ...): informational only.
    payment_status: Mapped[str | None] = mapped_column(String(32))
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set when the merchant must look at the order, e.g. paid after its stock ran out.
    attention: Mapped[str | None] = mapped_column(String(255))
    failure_code: Mapped[str | None] = mapped_column(String(64))
    failure_message: Mapped[str | None] = mapped_column(String(255))

    reserved_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # While pending, who holds the stock: a hash of the client's address (an IPv6 /64) and of
    # the link, so pending checkouts per client and per link can be capped. Cleared on settling.
    hold_client: Mapped[str | None] = mapped_column(String(16))
    hold_link: Mapped[str | None] = mapped_column(String(16))
    # A refund under way (claimed before the provider is called): its idempotency key and
    # amount, kept until it is recorded so a retry reuses them; ``refund_claimed_at`` is the
    # lock, set while a request is talking to the provider.
    refund_claim: Mapped[str | None] = mapped_column(String(128))
    refund_claim_amount: Mapped[int | None] = mapped_column(BigInteger)
    refund_claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fulfilled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # How the parcel travels, given when fulfilling (or later): a carrier's name, its
    # tracking number and an https link to follow it (built for known carriers).
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(128))
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    # Fulfilment (domain/pickup.py, domain/reservations.py): ``shipping``, ``pickup`` (paid
    # online, collected at ``pickup_location_id``; ``pickup_ready_at`` is the estimate the
    # shopper was shown, not the store's confirmation) or ``reserve`` (status ``reserved``,
    # held there until ``reserved_until``, paid at the counter: ``paid_in_store_by``).
    fulfilment_method: Mapped[str] = mapped_column(
        String(16), default="shipping", server_default="shipping"
    )
    pickup_location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    pickup_ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_in_store_by: Mapped[str | None] = mapped_column(String(254))

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    refunds: Mapped[list[Refund]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Refund.id"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "shipped_quantity >= 0 AND shipped_quantity <= quantity",
            name="shipped_within_quantity",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    # unit_amount * quantity - discount_amount (+ tax_amount when tax is added on top).
    total_amount: Mapped[int] = mapped_column(BigInteger)
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tax_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The tax rate applied, in basis points (1900 = 19 %).
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Where the line's units are reserved and taken from (domain/routing.py); None only for
    # a line written without routing, which inventory reads as the default location.
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), index=True)
    # Units sent in shipments so far (domain/shipments.py); the line is shipped when equal.
    shipped_quantity: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    order: Mapped[Order] = relationship(back_populates="lines")


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(255))
    # Sent to the provider, so retrying a refund never refunds twice.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    order: Mapped[Order] = relationship(back_populates="refunds")


class ProcessedEvent(Base):
    """A payment-provider event already applied. Its id is the primary key, and the row is
    written in the same transaction as the event's effect: a duplicate delivery, even a
    concurrent one, cannot apply twice."""

    __tablename__ = "processed_events"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="provider_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# Deleting by age (the retention job) and "did this shopper just try this link?".
Index("ix_processed_events_received_at", ProcessedEvent.received_at)
Index("ix_orders_email_created_at", Order.email, Order.created_at)
