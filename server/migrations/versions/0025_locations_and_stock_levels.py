"""locations and stock per location

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-26
"""

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
