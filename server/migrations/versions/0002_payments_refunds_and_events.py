"""Payments: refunds, processed provider events, refund and provider-status fields

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 01:20:12.961213
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processed_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_processed_events_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_events")),
        sa.UniqueConstraint("provider", "event_id", name="provider_event"),
    )
    with op.batch_alter_table("processed_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processed_events_order_id"), ["order_id"], unique=False
        )

    op.create_table(
        "refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_refunds_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_refunds_idempotency_key")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_order_id"), ["order_id"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_status", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("refunded_amount", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("attention", sa.String(length=255), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_orders_payment_reference"), ["payment_reference"], unique=False
        )
        batch_op.create_index(
            "ix_orders_status_reserved_until", ["status", "reserved_until"], unique=False
        )
        batch_op.drop_constraint(batch_op.f("ck_orders_status_known"), type_="check")
        batch_op.create_check_constraint(
            "status_known", "status IN ('pending', 'paid', 'failed', 'canceled', 'refunded')"
        )
        batch_op.create_check_constraint(
            "refund_bounds", "refunded_amount >= 0 AND refunded_amount <= total_amount"
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_orders_refund_bounds"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_orders_status_known"), type_="check")
        batch_op.create_check_constraint(
            "status_known", "status IN ('pending', 'paid', 'failed', 'canceled')"
        )
        batch_op.drop_index("ix_orders_status_reserved_until")
        batch_op.drop_index(batch_op.f("ix_orders_payment_reference"))
        batch_op.drop_column("attention")
        batch_op.drop_column("refunded_amount")
        batch_op.drop_column("payment_status")

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_order_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("processed_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_events_order_id"))

    op.drop_table("processed_events")
