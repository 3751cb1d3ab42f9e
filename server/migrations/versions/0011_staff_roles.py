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


def downgrade() -> None:
    with op.batch_alter_table("admin_users") as batch:
        batch.drop_constraint("role_known", type_="check")
        batch.drop_column("disabled_at")
        batch.drop_column("role")
