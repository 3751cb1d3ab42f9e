"""reserved (languages and currencies)

Revision ID: 0037
Revises: 0036
Create Date: 2026-11-26
"""

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
