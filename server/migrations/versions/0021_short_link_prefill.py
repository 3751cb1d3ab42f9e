"""short links: address pre-fill, several items and codes

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-26

A short link (``/l/{code}``) may now carry several products (``items``, JSON text), discount
codes (``codes``, JSON text) and a validated shipping address. Every new column is nullable:
links minted before keep working as they were.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_ADDRESS = (
    ("country", 2),
    ("region", 100),
    ("city", 100),
    ("postal_code", 20),
    ("line1", 200),
    ("line2", 200),
    ("sorting_code", 20),
)


def upgrade() -> None:
    with op.batch_alter_table("short_links") as batch:
        batch.add_column(sa.Column("items", sa.Text(), nullable=True))
        batch.add_column(sa.Column("codes", sa.String(200), nullable=True))
        for name, length in _ADDRESS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("short_links") as batch:
        for name, _ in reversed(_ADDRESS):
            batch.drop_column(name)
        batch.drop_column("codes")
        batch.drop_column("items")
