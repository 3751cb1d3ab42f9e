"""per-product order limits, holds and refund claims (issue 11)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("max_per_order", sa.Integer(), server_default="10", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_products_max_per_order_positive"), "max_per_order >= 1"
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_client", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("hold_link", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("refund_claim", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("refund_claim_amount", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("refund_claimed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_orders_hold_client", ["hold_client", "status"], unique=False)
        batch_op.create_index("ix_orders_hold_link", ["hold_link", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_hold_link")
        batch_op.drop_index("ix_orders_hold_client")
        batch_op.drop_column("refund_claimed_at")
        batch_op.drop_column("refund_claim_amount")
        batch_op.drop_column("refund_claim")
        batch_op.drop_column("hold_link")
        batch_op.drop_column("hold_client")

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_products_max_per_order_positive"), type_="check")
        batch_op.drop_column("max_per_order")
