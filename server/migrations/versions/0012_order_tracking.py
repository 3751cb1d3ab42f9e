"""order tracking

A fulfilled order can carry how its parcel travels: the carrier, the tracking number and an
https link to follow it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("carrier", sa.String(64), nullable=True))
        batch.add_column(sa.Column("tracking_number", sa.String(128), nullable=True))
        batch.add_column(sa.Column("tracking_url", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tracking_url")
        batch.drop_column("tracking_number")
        batch.drop_column("carrier")
