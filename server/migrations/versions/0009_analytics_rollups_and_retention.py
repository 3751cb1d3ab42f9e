"""analytics rollups and retention (issue 11)

Daily totals for analytics events past their raw period, and the indexes the retention job
deletes by (and the checkout-retry look-up by email).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# (index, table, columns)
_INDEXES = (
    ("ix_processed_events_received_at", "processed_events", ["received_at"]),
    ("ix_idempotency_records_created_at", "idempotency_records", ["created_at"]),
    ("ix_webhook_events_created_at", "webhook_events", ["created_at"]),
    ("ix_webhook_delivery_attempts_attempted_at", "webhook_delivery_attempts", ["attempted_at"]),
    ("ix_orders_email_created_at", "orders", ["email", "created_at"]),
)


def upgrade() -> None:
    op.create_table(
        "analytics_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("content", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_daily")),
    )
    op.create_index(
        "ix_analytics_daily_report", "analytics_daily", ["day", "kind", "sku", "source"]
    )
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_analytics_daily_report", table_name="analytics_daily")
    op.drop_table("analytics_daily")
