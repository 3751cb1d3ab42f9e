"""payees: when the last applied ``account.updated`` was created (events come in any order)

Revision ID: 0036
Revises: 0035
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payees") as batch:
        batch.add_column(sa.Column("account_event_created", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payees") as batch:
        batch.drop_column("account_event_created")
