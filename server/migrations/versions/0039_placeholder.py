"""reserved (order locale)

Revision ID: 0039
Revises: 0038
Create Date: 2026-11-26
"""

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
