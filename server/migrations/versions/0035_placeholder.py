"""reserved (report rollups speed)

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-26
"""

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
