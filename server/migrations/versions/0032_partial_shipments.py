"""partial shipments: parcels with their lines, and shipped units per order line

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-26

Orders fulfilled before this migration shipped everything: their lines count as shipped.
"""

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(64), nullable=True),
        sa.Column("tracking_number", sa.String(128), nullable=True),
        sa.Column("tracking_url", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_shipments_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
    )
    op.create_index(op.f("ix_shipments_order_id"), "shipments", ["order_id"])
    op.create_table(
        "shipment_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_shipment_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_shipment_lines_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_shipment_lines_order_line_id_order_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_lines")),
    )
    op.create_index(op.f("ix_shipment_lines_shipment_id"), "shipment_lines", ["shipment_id"])
    op.create_index(op.f("ix_shipment_lines_order_line_id"), "shipment_lines", ["order_line_id"])
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(
            sa.Column("shipped_quantity", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE order_lines SET shipped_quantity = quantity WHERE order_id IN "
        "(SELECT id FROM orders WHERE fulfilled_at IS NOT NULL)"
    )
    with op.batch_alter_table("order_lines") as batch:
        batch.create_check_constraint(
            "shipped_within_quantity", "shipped_quantity >= 0 AND shipped_quantity <= quantity"
        )


def downgrade() -> None:
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_constraint("shipped_within_quantity", type_="check")
        batch.drop_column("shipped_quantity")
    op.drop_index(op.f("ix_shipment_lines_order_line_id"), table_name="shipment_lines")
    op.drop_index(op.f("ix_shipment_lines_shipment_id"), table_name="shipment_lines")
    op.drop_table("shipment_lines")
    op.drop_index(op.f("ix_shipments_order_id"), table_name="shipments")
    op.drop_table("shipments")
