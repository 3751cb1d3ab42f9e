"""short links: the creator signed into the links they stand for

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("short_links") as batch:
        batch.add_column(sa.Column("creator", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("short_links") as batch:
        batch.drop_column("creator")
