"""product feed fields and feed keys

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-27

Products gain what shopping channels ask for: ``brand``, ``gtin``, ``mpn``, ``condition``
(new, refurbished or used; existing products are new) and ``google_category``. Each feed's
URL key is derived from the server's secret and a generation kept in ``feed_keys``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("brand", sa.String(70), nullable=True))
        batch.add_column(sa.Column("gtin", sa.String(14), nullable=True))
        batch.add_column(sa.Column("mpn", sa.String(70), nullable=True))
        batch.add_column(
            sa.Column("condition", sa.String(16), nullable=False, server_default="new")
        )
        batch.add_column(sa.Column("google_category", sa.String(250), nullable=True))
        batch.create_check_constraint(
            "condition_known", "condition IN ('new', 'refurbished', 'used')"
        )
    op.create_table(
        "feed_keys",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feed_keys")
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint("condition_known", type_="check")
        batch.drop_column("google_category")
        batch.drop_column("condition")
        batch.drop_column("mpn")
        batch.drop_column("gtin")
        batch.drop_column("brand")
