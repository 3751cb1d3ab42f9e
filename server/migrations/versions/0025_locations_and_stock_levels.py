"""locations and stock per location

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-26

Creates ``locations`` with the default location ``MAIN`` (a warehouse that ships, priority
0) and ``stock_levels``; moves every product's ``on_hand``/``reserved`` to MAIN, points every
existing order line at MAIN (pending orders' reservations moved there), and drops the
product's two counters: a product's stock is now the sum of its levels.
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "locations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("country", sa.String(2), nullable=False, server_default=""),
        sa.Column("region", sa.String(64), nullable=False, server_default=""),
        sa.Column("city", sa.String(100), nullable=False, server_default=""),
        sa.Column("postal_code", sa.String(32), nullable=False, server_default=""),
        sa.Column("line1", sa.String(200), nullable=False, server_default=""),
        sa.Column("lat_e6", sa.Integer(), nullable=True),
        sa.Column("lng_e6", sa.Integer(), nullable=True),
        sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("opening_hours", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("pickup_enabled", sa.Boolean(), nullable=False),
        sa.Column("pickup_ready_minutes", sa.Integer(), nullable=False, server_default="120"),
        sa.Column("pickup_instructions", sa.Text(), nullable=False, server_default=""),
        sa.Column("ships", sa.Boolean(), nullable=False),
        sa.Column("accepts_returns", sa.Boolean(), nullable=False),
        sa.Column("reservation_hold_minutes", sa.Integer(), nullable=False, server_default="2880"),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="100"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('warehouse', 'store')", name=op.f("ck_locations_kind_known")),
        sa.CheckConstraint(
            "lat_e6 BETWEEN -90000000 AND 90000000", name=op.f("ck_locations_lat_range")
        ),
        sa.CheckConstraint(
            "lng_e6 BETWEEN -180000000 AND 180000000", name=op.f("ck_locations_lng_range")
        ),
        sa.CheckConstraint(
            "pickup_ready_minutes >= 0", name=op.f("ck_locations_ready_not_negative")
        ),
        sa.CheckConstraint(
            "reservation_hold_minutes >= 1", name=op.f("ck_locations_hold_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("code", name=op.f("uq_locations_code")),
    )
    op.create_index("ix_locations_active_pickup", "locations", ["active", "pickup_enabled"])
    op.create_table(
        "stock_levels",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "reserved >= 0 AND reserved <= on_hand", name=op.f("ck_stock_levels_stock_bounds")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_stock_levels_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_stock_levels_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("product_id", "location_id", name=op.f("pk_stock_levels")),
    )
    op.create_index("ix_stock_levels_location_id", "stock_levels", ["location_id"])
    op.execute(
        "INSERT INTO locations (code, name, kind, pickup_enabled, ships, accepts_returns,"
        " priority, active, created_at, updated_at) VALUES ('MAIN', 'Main warehouse',"
        " 'warehouse', false, true, false, 0, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    op.execute(
        "INSERT INTO stock_levels (product_id, location_id, on_hand, reserved, updated_at)"
        " SELECT id, (SELECT id FROM locations WHERE code = 'MAIN'), on_hand, reserved,"
        " CURRENT_TIMESTAMP FROM products"
    )
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("location_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_order_lines_location_id_locations"), "locations", ["location_id"], ["id"]
        )
        batch.create_index("ix_order_lines_location_id", ["location_id"])
    op.execute(
        "UPDATE order_lines SET location_id = (SELECT id FROM locations WHERE code = 'MAIN')"
    )
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint(op.f("ck_products_stock_bounds"), type_="check")
        batch.drop_column("reserved")
        batch.drop_column("on_hand")


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("on_hand", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("reserved", sa.Integer(), nullable=False, server_default="0"))
    # The stock that sells online comes back to the product (other locations' is lost).
    op.execute(
        "UPDATE products SET"
        " on_hand = (SELECT COALESCE(SUM(s.on_hand), 0) FROM stock_levels s"
        " JOIN locations l ON l.id = s.location_id"
        " WHERE s.product_id = products.id AND l.ships AND l.active),"
        " reserved = (SELECT COALESCE(SUM(s.reserved), 0) FROM stock_levels s"
        " JOIN locations l ON l.id = s.location_id"
        " WHERE s.product_id = products.id AND l.ships AND l.active)"
    )
    with op.batch_alter_table("products") as batch:
        batch.create_check_constraint("stock_bounds", "reserved >= 0 AND reserved <= on_hand")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_index("ix_order_lines_location_id")
        batch.drop_constraint("fk_order_lines_location_id_locations", type_="foreignkey")
        batch.drop_column("location_id")
    op.drop_index("ix_stock_levels_location_id", table_name="stock_levels")
    op.drop_table("stock_levels")
    op.drop_index("ix_locations_active_pickup", table_name="locations")
    op.drop_table("locations")
