"""discount codes

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26

Discount codes (percent, fixed amount, free shipping) with their limits, the skus a code is
limited to, and each order's use of a code (for total and per-customer limits).
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discount_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("percent_bp", sa.Integer(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("min_subtotal", sa.BigInteger(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("times_used", sa.Integer(), server_default="0", nullable=False),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column("scope", sa.String(length=16), server_default="all", nullable=False),
        sa.Column("collection", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('percent', 'fixed', 'free_shipping')",
            name=op.f("ck_discount_codes_kind_known"),
        ),
        sa.CheckConstraint(
            "scope IN ('all', 'products', 'collection')",
            name=op.f("ck_discount_codes_scope_known"),
        ),
        sa.CheckConstraint("code = upper(code)", name=op.f("ck_discount_codes_code_upper_case")),
        sa.CheckConstraint(
            "kind <> 'percent' OR (percent_bp >= 1 AND percent_bp <= 10000)",
            name=op.f("ck_discount_codes_percent_range"),
        ),
        sa.CheckConstraint(
            "kind <> 'fixed' OR amount > 0", name=op.f("ck_discount_codes_fixed_has_amount")
        ),
        sa.CheckConstraint(
            "min_subtotal IS NULL OR min_subtotal >= 0",
            name=op.f("ck_discount_codes_min_not_negative"),
        ),
        sa.CheckConstraint(
            "(amount IS NULL AND min_subtotal IS NULL) OR currency IS NOT NULL",
            name=op.f("ck_discount_codes_money_has_currency"),
        ),
        sa.CheckConstraint(
            "times_used >= 0", name=op.f("ck_discount_codes_times_used_not_negative")
        ),
        sa.CheckConstraint(
            "usage_limit IS NULL OR (usage_limit >= 1 AND times_used <= usage_limit)",
            name=op.f("ck_discount_codes_usage_within_limit"),
        ),
        sa.CheckConstraint(
            "per_customer_limit IS NULL OR per_customer_limit >= 1",
            name=op.f("ck_discount_codes_per_customer_positive"),
        ),
        sa.CheckConstraint(
            "scope <> 'collection' OR collection IS NOT NULL",
            name=op.f("ck_discount_codes_collection_named"),
        ),
        sa.CheckConstraint(
            "starts_at IS NULL OR ends_at IS NULL OR ends_at > starts_at",
            name=op.f("ck_discount_codes_dates_in_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_discount_codes_code")),
    )
    op.create_table(
        "discount_code_skus",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["discount_codes.id"],
            name=op.f("fk_discount_code_skus_code_id_discount_codes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_code_skus")),
        sa.UniqueConstraint("code_id", "sku", name="uq_discount_code_skus_code_sku"),
    )
    op.create_table(
        "discount_redemptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["discount_codes.id"],
            name=op.f("fk_discount_redemptions_code_id_discount_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_discount_redemptions_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_redemptions")),
        sa.UniqueConstraint("code_id", "order_id", name="uq_discount_redemptions_code_order"),
    )
    with op.batch_alter_table("discount_redemptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_discount_redemptions_code_email", ["code_id", "email_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_discount_redemptions_order_id"), ["order_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("discount_redemptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_discount_redemptions_order_id"))
        batch_op.drop_index("ix_discount_redemptions_code_email")
    op.drop_table("discount_redemptions")
    op.drop_table("discount_code_skus")
    op.drop_table("discount_codes")
