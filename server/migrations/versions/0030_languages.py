"""languages: the shop's default locale

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-26

``shop_profile.default_locale``: the language a shopper gets when neither the link, the
language switcher's cookie nor the browser's ``Accept-Language`` names one we ship
(docs/languages.md). NULL: English.
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shop_profile") as batch:
        batch.add_column(sa.Column("default_locale", sa.String(35), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("shop_profile") as batch:
        batch.drop_column("default_locale")
