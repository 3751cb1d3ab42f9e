"""performance: running report totals (issue 18)

The blocks of 1 ... 4096 hours of migration 0031 (``analytics_rollups``) become running
totals: ``analytics_keys`` (a product, placement and currency as one integer) and
``analytics_totals`` (per key and 15-minute slot, everything counted up to the end of that
slot; the key holds its latest), so a report reads a row or two per key whatever its range
(domain/rollups.py);
``analytics_rollup_work`` holds one roll-up's scratch rows. Carried over: the raw events
already counted, per slot (every range over them stays exact), and the hourly blocks of the
hours before the oldest of them, each at the hour's last slot (exact to the hour, as they
were); ``analytics_rollup_state`` keeps its mark and gains ``kept_from`` (the first slot
kept). On SQLite,
``analytics_events`` is rebuilt with ``AUTOINCREMENT`` so an id is never used twice. The
downgrade rebuilds every span of blocks from the totals, per hour.

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-26
"""

# ruff: noqa: S608 (the statements are built from this module's constants only)

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

COUNTS = (
    "impression", "click", "checkout_started", "payment_succeeded", "payment_failed",
    "refunded", "impression_line", "click_line", "checkout_started_line",
    "payment_succeeded_line", "payment_failed_line", "refunded_line",
)  # fmt: skip
COLUMNS = (*COUNTS, "revenue", "refunds")
PARTS = ("sku", "source", "campaign", "content", "currency")
SLOTS_PER_HOUR = 4
SPANS = tuple(2**n for n in range(13))  # migration 0031's blocks, in hours


def _part_columns() -> list[sa.Column[str]]:
    return [sa.Column(p, sa.String(3 if p == "currency" else 64), nullable=False) for p in PARTS]


def _totals_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in COLUMNS),
        sa.PrimaryKeyConstraint("key_id", "slot", name=op.f(f"pk_{name}")),
        sqlite_with_rowid=False,
    )


def _slot(dialect: str) -> str:
    """The 15-minute slot of ``occurred_at`` (as domain/rollups.py computes it)."""
    if dialect == "postgresql":
        return "CAST(floor(extract(epoch FROM occurred_at) / 900) AS integer)"
    return "CAST(strftime('%s', occurred_at) AS integer) / 900"


def _carry_over(dialect: str) -> None:
    """The totals from what is kept: the raw events already counted (ids up to the mark),
    per slot, so every range over them stays exact; and the hourly blocks of the hours
    before the oldest of them (their raw events are gone), each at the hour's last slot.
    The other spans are not needed: the hourly blocks hold every hour still kept."""
    parts = ", ".join(PARTS)
    mark = "(SELECT last_id FROM analytics_rollup_state WHERE id = 1)"
    # The first hour with raw events: everything from it on is counted from them.
    raw_from = (
        f"(SELECT coalesce(min({_slot(dialect)}) / {SLOTS_PER_HOUR}, 2147483647) "
        f"FROM analytics_events WHERE id <= {mark})"
    )
    parted = (
        "sku, coalesce(source, '') AS source, coalesce(campaign, '') AS campaign, "
        "coalesce(content, '') AS content, coalesce(currency, '') AS currency"
    )
    sums = ", ".join(
        [f"sum(CASE WHEN kind = '{k}' THEN 1 ELSE 0 END) AS {k}" for k in COUNTS]
        + [
            f"sum(CASE WHEN kind IN ('{k}', '{k}_line') AND currency IS NOT NULL "
            f"THEN coalesce(amount, 0) ELSE 0 END) AS {name}"
            for name, k in (("revenue", "payment_succeeded"), ("refunds", "refunded"))
        ]
    )
    deltas = (
        f"SELECT {parts}, hour * {SLOTS_PER_HOUR} + {SLOTS_PER_HOUR - 1} AS slot, "
        f"{', '.join(COLUMNS)} FROM analytics_rollups WHERE span = 1 AND hour < {raw_from} "
        f"UNION ALL SELECT {parts}, slot, {', '.join(COLUMNS)} FROM ("
        f"SELECT {parted}, {_slot(dialect)} AS slot, {sums} FROM analytics_events "
        f"WHERE id <= {mark} GROUP BY 1, 2, 3, 4, 5, 6) AS raw"
    )
    # One key per product, placement and currency; rows without a currency (0031 kept the
    # events without money apart) go to the parts' key with a currency, if any, as the
    # roll-up does (domain/rollups.py, _MATCH): a report then reads one key, not two.
    op.execute(
        f"INSERT INTO analytics_keys ({parts}) SELECT DISTINCT {parts} FROM ({deltas}) AS d "
        "WHERE currency <> ''"
    )
    same = " AND ".join(f"k.{p} = d.{p}" for p in PARTS[:-1])
    op.execute(
        f"INSERT INTO analytics_keys ({parts}) SELECT DISTINCT {parts} FROM ({deltas}) AS d "
        f"WHERE currency = '' AND NOT EXISTS (SELECT 1 FROM analytics_keys k WHERE {same})"
    )
    key_of = (
        f"(SELECT min(k.id) FROM analytics_keys k WHERE {same} "
        "AND (d.currency = '' OR k.currency = d.currency))"
    )
    per_slot = ", ".join(f"sum({c}) AS {c}" for c in COLUMNS)
    running = ", ".join(f"sum({c}) OVER (PARTITION BY key_id ORDER BY slot)" for c in COLUMNS)
    op.execute(
        f"INSERT INTO analytics_totals (key_id, slot, {', '.join(COLUMNS)}) "
        f"SELECT key_id, slot, {running} FROM ("
        f"SELECT key_id, slot, {per_slot} FROM (SELECT {key_of} AS key_id, d.* "
        f"FROM ({deltas}) AS d) AS m GROUP BY key_id, slot) AS s"
    )
    # Each key's latest row, on the key (what a report up to now reads).
    latest = "FROM analytics_totals t WHERE t.key_id = analytics_keys.id"
    op.execute(f"UPDATE analytics_keys SET last_slot = (SELECT max(t.slot) {latest})")
    op.execute(
        "UPDATE analytics_keys SET "
        + ", ".join(f"{c} = (SELECT t.{c} {latest} AND t.slot = last_slot)" for c in COLUMNS)
    )
    first_raw = f"(SELECT min({_slot(dialect)}) FROM analytics_events WHERE id <= {mark})"
    op.execute(
        "UPDATE analytics_rollup_state SET kept_from = coalesce((SELECT min(hour) * "
        f"{SLOTS_PER_HOUR} FROM analytics_rollups WHERE span = 1), {first_raw}, 0)"
    )


def upgrade() -> None:
    op.create_table(
        "analytics_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        *_part_columns(),
        sa.Column("last_slot", sa.Integer(), nullable=True),
        *(sa.Column(c, sa.BigInteger(), nullable=False, server_default="0") for c in COLUMNS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_keys")),
        sa.UniqueConstraint(*PARTS, name=op.f("uq_analytics_keys_sku")),
    )
    _totals_table("analytics_totals")
    _totals_table("analytics_rollup_work")
    with op.batch_alter_table("analytics_rollup_state") as batch:
        batch.add_column(sa.Column("kept_from", sa.Integer(), nullable=False, server_default="0"))
    _carry_over(op.get_bind().dialect.name)
    op.drop_table("analytics_rollups")
    if op.get_bind().dialect.name == "sqlite":
        # Never reuse an event id (SQLite would after retention emptied the table): the
        # roll-up's mark counts by id. PostgreSQL's sequences never go back.
        with op.batch_alter_table(
            "analytics_events", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    op.create_table(
        "analytics_rollups",
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        *_part_columns(),
        *(sa.Column(name, sa.BigInteger(), nullable=False) for name in COLUMNS),
        sa.PrimaryKeyConstraint("span", "hour", *PARTS, name=op.f("pk_analytics_rollups")),
        sqlite_with_rowid=False,
    )
    # Each slot's own events: its running totals minus the key's previous row, per hour.
    deltas = ", ".join(f"sum(t.{c} - coalesce(p.{c}, 0))" for c in COLUMNS)
    op.execute(
        f"INSERT INTO analytics_rollups (span, hour, {', '.join(PARTS)}, {', '.join(COLUMNS)}) "
        f"SELECT 1, t.slot / {SLOTS_PER_HOUR}, {', '.join('k.' + p for p in PARTS)}, {deltas} "
        "FROM analytics_totals t JOIN analytics_keys k ON k.id = t.key_id "
        "LEFT JOIN analytics_totals p ON p.key_id = t.key_id AND p.slot = ("
        "SELECT max(q.slot) FROM analytics_totals q WHERE q.key_id = t.key_id "
        "AND q.slot < t.slot) "
        f"GROUP BY t.slot / {SLOTS_PER_HOUR}, {', '.join('k.' + p for p in PARTS)}"
    )
    parts = ", ".join(PARTS)
    for span in SPANS[1:]:
        op.execute(
            f"INSERT INTO analytics_rollups (span, hour, {parts}, {', '.join(COLUMNS)}) "
            f"SELECT {span}, hour / {span} * {span}, {parts}, "
            + ", ".join(f"sum({c})" for c in COLUMNS)
            + f" FROM analytics_rollups WHERE span = 1 GROUP BY hour / {span} * {span}, {parts}"
        )
    with op.batch_alter_table("analytics_rollup_state") as batch:
        batch.drop_column("kept_from")
    op.drop_table("analytics_rollup_work")
    op.drop_table("analytics_totals")
    op.drop_table("analytics_keys")
