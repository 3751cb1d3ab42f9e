"""analytics: further lines of a multi-item order or link

A multi-item order records one event per line, so every product is credited; the lines after
the first carry the kind ``<kind>_line`` so the dashboard's totals count orders and clicks,
not lines (domain/analytics.py).

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_KINDS = (
    "impression",
    "click",
    "checkout_started",
    "payment_succeeded",
    "payment_failed",
    "refunded",
)
_BEFORE = "kind IN ({})".format(", ".join(f"'{k}'" for k in _KINDS))
_AFTER = "kind IN ({})".format(
    ", ".join(f"'{k}'" for k in (*_KINDS, *(f"{k}_line" for k in _KINDS)))
)


def upgrade() -> None:
    with op.batch_alter_table("analytics_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_analytics_events_kind_known"), type_="check")
        batch_op.create_check_constraint("kind_known", _AFTER)


def downgrade() -> None:
    # Back to one event per line of the same kind (each product keeps its credit).
    for table in ("analytics_events", "analytics_daily"):
        for kind in _KINDS:
            # Constants of this module only, no input.
            op.execute(f"UPDATE {table} SET kind = '{kind}' WHERE kind = '{kind}_line'")  # noqa: S608
    with op.batch_alter_table("analytics_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_analytics_events_kind_known"), type_="check")
        batch_op.create_check_constraint("kind_known", _BEFORE)
