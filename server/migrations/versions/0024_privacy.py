"""privacy: erasure records

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-26

One row per erasure carried out (``buybutton privacy erase``, ``POST
/api/v1/privacy/erase``): when, through what, how much; the address only as a SHA-256.
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_erasures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email_hash", sa.String(64), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_privacy_erasures_email_hash", "privacy_erasures", ["email_hash"])


def downgrade() -> None:
    op.drop_index("ix_privacy_erasures_email_hash", table_name="privacy_erasures")
    op.drop_table("privacy_erasures")
