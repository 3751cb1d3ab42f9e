"""order totals and lines: subtotal, discount, shipping and tax per order and per line

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26

Orders placed before this migration had one price and no parts: their subtotal becomes
their total (no discount, shipping or tax), so the new CHECK holds for every row.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_AMOUNTS = ("subtotal_amount", "discount_amount", "shipping_amount", "tax_amount")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for name in _AMOUNTS:
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("tax_included", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("shipping_option", sa.String(32), nullable=True))
        batch.add_column(sa.Column("shipping_title", sa.String(100), nullable=True))
        batch.add_column(sa.Column("discount_codes", sa.String(200), nullable=True))
        batch.add_column(sa.Column("ship_region", sa.String(64), nullable=True))
    op.execute("UPDATE orders SET subtotal_amount = total_amount")
    with op.batch_alter_table("orders") as batch:
        batch.create_check_constraint(
            "totals_add_up",
            "subtotal_amount - discount_amount + shipping_amount"
            " + CASE WHEN tax_included THEN 0 ELSE tax_amount END = total_amount",
        )
        batch.create_check_constraint(
            "parts_not_negative",
            "subtotal_amount >= 0 AND discount_amount >= 0 AND shipping_amount >= 0"
            " AND tax_amount >= 0",
        )
    with op.batch_alter_table("shop_profile") as batch:
        batch.add_column(
            sa.Column("collect_tax", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("order_lines") as batch:
        for name in ("discount_amount", "tax_amount"):
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("tax_rate_bp", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        for name in ("tax_rate_bp", "tax_amount", "discount_amount"):
            batch.drop_column(name)
    with op.batch_alter_table("shop_profile") as batch:
        batch.drop_column("collect_tax")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("parts_not_negative", type_="check")
        batch.drop_constraint("totals_add_up", type_="check")
        for name in ("ship_region", "discount_codes", "shipping_title", "shipping_option"):
            batch.drop_column(name)
        batch.drop_column("tax_included")
        for name in reversed(_AMOUNTS):
            batch.drop_column(name)
