"""webhook endpoints: the subscribed event types as text (the list outgrew 255 characters)

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column("events", type_=sa.Text(), existing_type=sa.String(255))


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column("events", type_=sa.String(255), existing_type=sa.Text())
