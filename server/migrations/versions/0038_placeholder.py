"""reserved (pickup index)

Revision ID: 0038
Revises: 0037
Create Date: 2026-11-26
"""

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
