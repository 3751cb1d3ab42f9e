"""performance: each key's totals at the start of the dashboard's 30 days (issue 18)

``analytics_keys`` gains ``start_<count>`` for every count of the totals (its totals before
the slot ``analytics_rollup_state.start_slot``, new), so the dashboard's report over the
30 days up to now reads the key rows only: no index probe per key into
``analytics_totals`` (domain/rollups.py keeps them, domain/funnel_query.py reads them).
Only the keys table (a row per product and placement) and the one state row change; the
big tables are not touched. The counts start at 0 with ``start_slot`` unset: the next
roll-up fills them in one statement.

Revision ID: 0041
Revises: 0040
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

COLUMNS = (
    "impression", "click", "checkout_started", "payment_succeeded", "payment_failed",
    "refunded", "impression_line", "click_line", "checkout_started_line",
    "payment_succeeded_line", "payment_failed_line", "refunded_line", "revenue", "refunds",
)  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("analytics_keys") as batch:
        for c in COLUMNS:
            batch.add_column(
                sa.Column(f"start_{c}", sa.BigInteger(), nullable=False, server_default="0")
            )
    with op.batch_alter_table("analytics_rollup_state") as batch:
        batch.add_column(sa.Column("start_slot", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("analytics_rollup_state") as batch:
        batch.drop_column("start_slot")
    with op.batch_alter_table("analytics_keys") as batch:
        for c in COLUMNS:
            batch.drop_column(f"start_{c}")
