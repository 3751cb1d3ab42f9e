"""Commissions across the network: payees, their rules, the shares frozen on each order, the
ledger of what each party holds, and the transfers that pay them (docs/commissions.md).

Amounts are integer minor units of the order's currency. The ledger's invariant, per order:
``captured - refunded = platform + sum(payees)``; the platform's part is never stored, it is
what the payees' entries leave (``ledger_entries`` with no payee are the platform's).
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
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class Payee(Base):
    """A seller (a store or franchisee, which may own locations) or a creator, and their
    Stripe connected account: ``invited`` (no account yet) → ``onboarding`` → ``active``
    (payouts enabled) or ``restricted`` (Stripe wants more), from ``account.updated``."""

    __tablename__ = "payees"
    __table_args__ = (
        CheckConstraint("kind IN ('seller', 'creator')", name="kind_known"),
        CheckConstraint(
            "status IN ('invited', 'onboarding', 'active', 'restricted')", name="status_known"
        ),
        CheckConstraint("unready IN ('head_office', 'refuse')", name="unready_known"),
        CheckConstraint("code = lower(code)", name="code_lower_case"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What links carry (``creator="anna"``) and the API/CLI name it by; lower case.
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16), default="invited", server_default="invited")
    stripe_account: Mapped[str | None] = mapped_column(String(64), unique=True)
    charges_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    payouts_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    details_submitted: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=sa_false()
    )
    # A seller whose payouts are not enabled: its lines go to the head office, or refuse.
    unready: Mapped[str] = mapped_column(
        String(16), default="head_office", server_default="head_office"
    )
    # Stripe's ``created`` (Unix seconds) of the newest account state applied: an older
    # ``account.updated`` arriving later is ignored (Stripe does not keep events in order).
    account_event_created: Mapped[int | None] = mapped_column(BigInteger)
    # The payee's own statement page (/payee/{statement_key}): unguessable, rotatable.
    statement_key: Mapped[str] = mapped_column(String(43), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class PayeeLocation(Base):
    """A location (store) a seller owns: lines sent from it are that seller's."""

    __tablename__ = "payee_locations"

    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True
    )
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id", ondelete="CASCADE"), index=True)


class CommissionRule(Base):
    """How much of a line a payee's rule takes: for a seller, the head office's commission
    (the seller keeps the rest); for a creator, the creator's fee. ``percent_bp`` of the line
    plus ``fixed_amount`` per unit, then held within ``min_amount``..``max_amount``. A rule
    names a product (``sku``), a category (a variant group) or neither (the payee's default);
    the most specific one matching a line applies."""

    __tablename__ = "commission_rules"
    __table_args__ = (
        CheckConstraint("percent_bp >= 0 AND percent_bp <= 10000", name="percent_range"),
        CheckConstraint("sku IS NULL OR category IS NULL", name="one_scope"),
        CheckConstraint(
            "(fixed_amount IS NULL OR fixed_amount >= 0)"
            " AND (min_amount IS NULL OR min_amount >= 0)"
            " AND (max_amount IS NULL OR max_amount >= 0)",
            name="amounts_not_negative",
        ),
        CheckConstraint(
            "min_amount IS NULL OR max_amount IS NULL OR min_amount <= max_amount",
            name="min_within_max",
        ),
        CheckConstraint(
            "(fixed_amount IS NULL AND min_amount IS NULL AND max_amount IS NULL)"
            " OR currency IS NOT NULL",
            name="money_has_currency",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    percent_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fixed_amount: Mapped[int | None] = mapped_column(BigInteger)
    min_amount: Mapped[int | None] = mapped_column(BigInteger)
    max_amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class CommissionLine(Base):
    """A payee's share of one order line, frozen when the order was placed with a copy of
    the rule's numbers: later rule changes never touch it."""

    __tablename__ = "commission_lines"
    __table_args__ = (
        CheckConstraint("role IN ('seller', 'creator')", name="role_known"),
        CheckConstraint("amount >= 0 AND amount <= base_amount", name="within_line"),
        UniqueConstraint("order_line_id", "payee_id", name="uq_commission_lines_line_payee"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"))
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    sku: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    # What the line brought in (its total as charged), and the payee's part of it.
    base_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    # The rule as it was (its row may change or go later).
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("commission_rules.id", ondelete="SET NULL")
    )
    percent_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fixed_amount: Mapped[int | None] = mapped_column(BigInteger)
    min_amount: Mapped[int | None] = mapped_column(BigInteger)
    max_amount: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LedgerEntry(Base):
    """Money an order brought one party (``payee_id`` None: the platform): ``sale`` when
    paid, ``refund`` when refunded (``refund_key`` = the refund's). A payee's sale is never
    negative nor its refund positive; the platform's entries take the rounding remainder,
    so one may have either sign by a unit or two."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("kind IN ('sale', 'refund')", name="kind_known"),
        CheckConstraint(
            "payee_id IS NULL OR (kind = 'sale' AND amount >= 0)"
            " OR (kind = 'refund' AND amount <= 0)",
            name="sign_matches_kind",
        ),
        Index("ix_ledger_entries_payee_created", "payee_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    payee_id: Mapped[int | None] = mapped_column(ForeignKey("payees.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    refund_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Transfer(Base):
    """What an order pays one payee. ``destination``: moved by the charge itself (one
    seller; the head office's part is the application fee). ``transfer``: a separate
    transfer in the order's ``transfer_group``, tied to the charge; ``pending`` until its
    trigger (a seller's fulfilment, a creator's return window), then ``due``, ``sending``
    (claimed), ``paid`` or ``failed``; ``canceled`` when nothing is left to send."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("kind IN ('destination', 'transfer')", name="kind_known"),
        CheckConstraint(
            "status IN ('pending', 'due', 'sending', 'paid', 'failed', 'canceled')",
            name="status_known",
        ),
        CheckConstraint("release IN ('fulfilment', 'return_window')", name="release_known"),
        CheckConstraint(
            "amount >= 0 AND reversed_amount >= 0 AND owed_amount >= 0"
            " AND reversed_amount + owed_amount <= amount",
            name="amounts_in_bounds",
        ),
        UniqueConstraint("order_id", "payee_id", name="uq_transfers_order_payee"),
        Index("ix_transfers_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    release: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    # What was sent (0 until sent), reversed since, and what a reversal could not recover.
    amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    reversed_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    owed_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    transfer_group: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    reference: Mapped[str | None] = mapped_column(String(255))
    failure: Mapped[str | None] = mapped_column(String(255))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TransferReversal(Base):
    """Part of a sent transfer taken back after a refund: ``due`` until the provider is
    asked, then ``done``, or ``owed`` when the payee's balance could not cover it (kept, and
    asked again later; never forgotten)."""

    __tablename__ = "transfer_reversals"
    __table_args__ = (
        CheckConstraint("status IN ('due', 'done', 'owed')", name="status_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(
        ForeignKey("transfers.id", ondelete="CASCADE"), index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    reference: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
