"""the counter: staff scoped to locations, pickup codes

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-26
"""

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
