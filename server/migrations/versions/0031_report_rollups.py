"""performance: report rollups (issue 18)

``analytics_rollups``: funnel totals per block of 1, 2, 4 ... 4096 hours, product, placement
and currency, maintained incrementally from the raw events (domain/rollups.py), so a report
over any range reads a handful of blocks. ``analytics_rollup_state``: the last event id
counted. Existing daily totals (``analytics_daily``, events past their raw period) are
added in; the raw events still here are counted by the first roll-up runs.

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-26
"""

from collections import defaultdict
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

COUNTS = (
    "impression", "click", "checkout_started", "payment_succeeded", "payment_failed",
    "refunded", "impression_line", "click_line", "checkout_started_line",
    "payment_succeeded_line", "payment_failed_line", "refunded_line",
)  # fmt: skip
SPANS = tuple(2**n for n in range(13))
KEY = ("sku", "source", "campaign", "content", "currency")


def upgrade() -> None:
    rollups = op.create_table(
        "analytics_rollups",
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("content", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COUNTS),
        sa.Column("revenue", sa.BigInteger(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("span", "hour", *KEY, name=op.f("pk_analytics_rollups")),
        sqlite_with_rowid=False,
    )
    state = op.create_table(
        "analytics_rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_rollup_state")),
    )
    op.bulk_insert(state, [{"id": 1, "last_id": 0}])
    _fold_daily_totals(rollups)


def _fold_daily_totals(rollups: sa.Table) -> None:
    """The daily totals of events already gone, at every span (a day is 24 hours)."""
    daily = sa.table(
        "analytics_daily", *(sa.column(c) for c in ("day", "kind", *KEY, "events", "amount"))
    )
    found = op.get_bind().execute(sa.select(daily)).all()
    blocks: dict[tuple[object, ...], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys((*COUNTS, "revenue", "refunds"), 0)
    )
    epoch = date(1970, 1, 1)
    for row in found:
        day = row.day if isinstance(row.day, date) else date.fromisoformat(str(row.day)[:10])
        hour = (day - epoch).days * 24
        key = tuple(getattr(row, k) or "" for k in KEY)
        for span in SPANS:
            totals = blocks[(span, hour // span * span, *key)]
            if row.kind in totals:
                totals[row.kind] += row.events
            if row.kind in ("payment_succeeded", "payment_succeeded_line"):
                totals["revenue"] += row.amount
            elif row.kind in ("refunded", "refunded_line"):
                totals["refunds"] += row.amount
    op.bulk_insert(
        rollups,
        [
            {"span": k[0], "hour": k[1], **dict(zip(KEY, k[2:], strict=True)), **v}
            for k, v in blocks.items()
        ],
    )


def downgrade() -> None:
    op.drop_table("analytics_rollup_state")
    op.drop_table("analytics_rollups")
