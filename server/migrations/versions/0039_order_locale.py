"""order locale: the language an order was placed in

Revision ID: 0039
Revises: 0038
Create Date: 2026-11-26

``orders.locale``: the language tag the checkout settled on when the order was placed
(``de-AT``, ``ar``; docs/languages.md). The order's emails (receipt, refund, shipped,
payment failed, pickup) are written in it. NULL (orders from before, or placed through the
API): the shop's default language, else English.
"""

import sqlalchemy as sa
from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("locale", sa.String(35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("locale")
