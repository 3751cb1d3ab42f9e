"""performance: report rollups

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-26
"""

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
