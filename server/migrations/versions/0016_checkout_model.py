"""checkout model: product weight and tax class, the shop's country and tax mode

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(
            sa.Column("weight_grams", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("tax_class", sa.String(16), nullable=False, server_default="standard")
        )
        batch.create_check_constraint("weight_not_negative", "weight_grams >= 0")
        batch.create_check_constraint(
            "tax_class_known", "tax_class IN ('standard', 'reduced', 'zero', 'digital')"
        )
    with op.batch_alter_table("shop_profile") as batch:
        batch.add_column(sa.Column("country", sa.String(2), nullable=False, server_default="US"))
        batch.add_column(
            sa.Column("prices_include_tax", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("shop_profile") as batch:
        batch.drop_column("prices_include_tax")
        batch.drop_column("country")
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint("tax_class_known", type_="check")
        batch.drop_constraint("weight_not_negative", type_="check")
        batch.drop_column("tax_class")
        batch.drop_column("weight_grams")
