"""staff roles

Admin logins get a role (owner: everything; staff: daily work without keys, endpoints, logins
or settings) and can be disabled without deleting who did what.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admin_users") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="owner"))
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint("role_known", "role IN ('owner', 'staff')")
    # The owner's note on a webhook endpoint (the admin's webhooks page).
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(
            sa.Column("description", sa.String(255), nullable=False, server_default="")
        )

    # The shop's identity, policies and extra allowed origins (the admin's settings page).
    op.create_table(
        "shop_profile",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("support_email", sa.String(254), nullable=True),
        sa.Column("logo_url", sa.String(2048), nullable=True),
        sa.Column("legal_address", sa.Text(), nullable=True),
        sa.Column("terms_url", sa.String(2048), nullable=True),
        sa.Column("returns_url", sa.String(2048), nullable=True),
        sa.Column("privacy_url", sa.String(2048), nullable=True),
        sa.Column("allowed_origins", sa.Text(), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_shop_profile_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_profile")),
    )


def downgrade() -> None:
    op.drop_table("shop_profile")
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("description")
    with op.batch_alter_table("admin_users") as batch:
        batch.drop_constraint("role_known", type_="check")
        batch.drop_column("disabled_at")
        batch.drop_column("role")
