"""pickup and reservations in store

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-26
"""

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
