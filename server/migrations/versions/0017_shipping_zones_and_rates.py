"""shipping zones and rates

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shipping_zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_zones")),
    )
    op.create_table(
        "shipping_zone_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.CHAR(2), nullable=False),
        sa.Column("region", sa.String(32), nullable=False, server_default=""),
        sa.Column("postal_prefix", sa.String(16), nullable=False, server_default=""),
        sa.CheckConstraint("length(country) = 2", name=op.f("ck_shipping_zone_areas_country_code")),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["shipping_zones.id"],
            name=op.f("fk_shipping_zone_areas_zone_id_shipping_zones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_zone_areas")),
        sa.UniqueConstraint(
            "country", "region", "postal_prefix", name=op.f("uq_shipping_zone_areas_area")
        ),
    )
    op.create_index(op.f("ix_shipping_zone_areas_zone_id"), "shipping_zone_areas", ["zone_id"])
    op.create_table(
        "shipping_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("free_over_amount", sa.BigInteger(), nullable=True),
        sa.Column("delivery_estimate", sa.String(100), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('flat', 'free_over', 'weight')", name=op.f("ck_shipping_rates_kind_known")
        ),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_shipping_rates_currency_code")),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_shipping_rates_amount_not_negative")),
        sa.CheckConstraint(
            "(kind = 'free_over' AND free_over_amount IS NOT NULL AND free_over_amount >= 0)"
            " OR (kind <> 'free_over' AND free_over_amount IS NULL)",
            name=op.f("ck_shipping_rates_free_over_amount_for_free_over"),
        ),
        sa.CheckConstraint(
            "kind <> 'weight' OR amount = 0",
            name=op.f("ck_shipping_rates_weight_priced_by_brackets"),
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["shipping_zones.id"],
            name=op.f("fk_shipping_rates_zone_id_shipping_zones"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_rates")),
    )
    op.create_index(op.f("ix_shipping_rates_zone_id"), "shipping_rates", ["zone_id"])
    op.create_table(
        "shipping_rate_brackets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rate_id", sa.Integer(), nullable=False),
        sa.Column("up_to_grams", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "up_to_grams > 0", name=op.f("ck_shipping_rate_brackets_up_to_positive")
        ),
        sa.CheckConstraint(
            "amount >= 0", name=op.f("ck_shipping_rate_brackets_amount_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["rate_id"],
            ["shipping_rates.id"],
            name=op.f("fk_shipping_rate_brackets_rate_id_shipping_rates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_rate_brackets")),
        sa.UniqueConstraint(
            "rate_id", "up_to_grams", name=op.f("uq_shipping_rate_brackets_weight")
        ),
    )


def downgrade() -> None:
    op.drop_table("shipping_rate_brackets")
    op.drop_index(op.f("ix_shipping_rates_zone_id"), table_name="shipping_rates")
    op.drop_table("shipping_rates")
    op.drop_index(op.f("ix_shipping_zone_areas_zone_id"), table_name="shipping_zone_areas")
    op.drop_table("shipping_zone_areas")
    op.drop_table("shipping_zones")
