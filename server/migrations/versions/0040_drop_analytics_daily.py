"""performance: drop ``analytics_daily`` (issue 18 item 3)

The daily totals of analytics events past their raw period (migration 0009). Migration 0031
added every row into its blocks (carried into the running totals by 0035); the rows written
after it (retention, until the running totals) only repeated events the roll-up had already
counted. Nothing has read the table since 0031 nor written it since, so it goes as it is.
The downgrade recreates it empty.

Revision ID: 0040
Revises: 0039
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_analytics_daily_report", table_name="analytics_daily")
    op.drop_table("analytics_daily")


def downgrade() -> None:
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
