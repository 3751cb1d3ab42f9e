"""the counter: staff scoped to locations, pickup codes

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-26

``staff_locations`` (a staff login limited to some locations), ``order_pickups`` (a pickup
order marked ready: its code's HMAC, wrong attempts, ready and collected) and
``returns.location_id`` (a return received at a store's counter).
"""

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_locations",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["admin_users.id"],
            name=op.f("fk_staff_locations_user_id_admin_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_staff_locations_location_id_locations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "location_id", name=op.f("pk_staff_locations")),
    )
    with op.batch_alter_table("staff_locations") as batch:
        batch.create_index("ix_staff_locations_location_id", ["location_id"], unique=False)
    op.create_table(
        "order_pickups",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_by", sa.Integer(), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("collected_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_order_pickups_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_pickups_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_order_pickups_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["ready_by"],
            ["admin_users.id"],
            name=op.f("fk_order_pickups_ready_by_admin_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["collected_by"],
            ["admin_users.id"],
            name=op.f("fk_order_pickups_collected_by_admin_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_pickups")),
    )
    with op.batch_alter_table("order_pickups") as batch:
        batch.create_index(
            "ix_order_pickups_location_id", ["location_id", "collected_at"], unique=False
        )
    with op.batch_alter_table("returns") as batch:
        batch.add_column(sa.Column("location_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_returns_location_id_locations"), "locations", ["location_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("returns") as batch:
        batch.drop_constraint(batch.f("fk_returns_location_id_locations"), type_="foreignkey")
        batch.drop_column("location_id")
    op.drop_table("order_pickups")
    op.drop_table("staff_locations")
