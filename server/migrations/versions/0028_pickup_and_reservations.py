"""pickup and reservations in store

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-26

Orders learn how they are fulfilled: ``fulfilment_method`` ``shipping`` (as before),
``pickup`` (paid online, collected at ``pickup_location_id``, estimated ready at
``pickup_ready_at``) or ``reserve`` (reserved online, paid at the store's counter): a
reservation is an order in the new status ``reserved`` whose stock is held at the store
until ``reserved_until``; ``paid_in_store_by`` names the staff member who took the payment.
Locations learn whether they take reservations (``reservations_enabled``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_STATUSES_BEFORE = "status IN ('pending', 'paid', 'failed', 'canceled', 'refunded')"
_STATUSES_NOW = "status IN ('pending', 'reserved', 'paid', 'failed', 'canceled', 'refunded')"


def upgrade() -> None:
    with op.batch_alter_table("locations") as batch:
        batch.add_column(
            sa.Column(
                "reservations_enabled", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("fulfilment_method", sa.String(16), nullable=False, server_default="shipping")
        )
        batch.add_column(sa.Column("pickup_location_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pickup_ready_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paid_in_store_by", sa.String(254), nullable=True))
        batch.create_foreign_key(
            op.f("fk_orders_pickup_location_id_locations"),
            "locations",
            ["pickup_location_id"],
            ["id"],
        )
        batch.create_index("ix_orders_pickup_location_status", ["pickup_location_id", "status"])
        batch.drop_constraint(op.f("ck_orders_status_known"), type_="check")
        batch.create_check_constraint("status_known", _STATUSES_NOW)
        batch.create_check_constraint(
            "fulfilment_known", "fulfilment_method IN ('shipping', 'pickup', 'reserve')"
        )
        batch.create_check_constraint(
            "pickup_has_location",
            "fulfilment_method = 'shipping' OR pickup_location_id IS NOT NULL",
        )
        batch.create_check_constraint(
            "reserved_is_reservation", "status <> 'reserved' OR fulfilment_method = 'reserve'"
        )


def downgrade() -> None:
    # Reservations still open become canceled (their stock holds are left to the operator).
    op.execute("UPDATE orders SET status = 'canceled' WHERE status = 'reserved'")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint(op.f("ck_orders_reserved_is_reservation"), type_="check")
        batch.drop_constraint(op.f("ck_orders_pickup_has_location"), type_="check")
        batch.drop_constraint(op.f("ck_orders_fulfilment_known"), type_="check")
        batch.drop_constraint(op.f("ck_orders_status_known"), type_="check")
        batch.create_check_constraint("status_known", _STATUSES_BEFORE)
        batch.drop_index("ix_orders_pickup_location_status")
        batch.drop_constraint(op.f("fk_orders_pickup_location_id_locations"), type_="foreignkey")
        batch.drop_column("paid_in_store_by")
        batch.drop_column("pickup_ready_at")
        batch.drop_column("pickup_location_id")
        batch.drop_column("fulfilment_method")
    with op.batch_alter_table("locations") as batch:
        batch.drop_column("reservations_enabled")
