"""Funnel totals kept as running sums, so a report reads two rows per product and placement
whatever its range and however many events there are (issue 18).

The invariant: the row ``(key, slot)`` of ``analytics_totals`` holds, for one product,
placement and currency (``analytics_keys``), the sum of every event the roll-up has counted
with a time up to the end of the 15-minute ``slot`` (slots since the Unix epoch); rows
exist for the slots where the key had events. So the events of whole slots ``first`` to
``end`` (end excluded) are ``latest row before end - latest row before first``: two index
seeks per key, one for a range up to now (the report's statement:
:mod:`buybutton_server.domain.funnel_query`). The report adds the raw events of the partial
slots at either end of its range and those the roll-up has not counted yet. Fifteen minutes: every
time zone's midnight is on a slot boundary, so a range of whole local days has no partial
slots.

The roll-up (:func:`roll_up`) runs after each flush of the event buffer, about once a
second, and before each report and retention run. In one transaction it claims the events
with ids above the mark (a conditional ``UPDATE`` of ``analytics_rollup_state``: a second
process doing the same gives up), writes their running sums per key and slot into
``analytics_rollup_work``, inserts the missing rows (starting from the key's previous
row), and adds to every row of the key at or after each event's slot. An event arriving
late for a past slot therefore updates the key's rows from that slot on: a few rows for the
events of a slot that just ended (the normal case at a slot boundary), bounded by the key's
rows since then for older ones, which are rare (times are set on the server when an event
is recorded). On PostgreSQL, ids are handed out before their transactions commit, so the
roll-up first takes a brief ``SHARE`` lock on the events (it waits for open inserts, at most
50 ms) and counts only up to the highest id committed then.

Retention (:func:`forget`) deletes rows older than the rollups period but keeps each key's
latest row before it as the base, and records the first slot kept: a range reaching further
back counts from there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import AnalyticsEvent, AnalyticsKey, AnalyticsTotal, RollupState
from buybutton_server.db.models.analytics import ROLLUP_COLUMNS, ROLLUP_COUNTS

BATCH = 200_000  # events per roll-up transaction (a first run over old events takes several)
SLOT = timedelta(minutes=15)
_EVENTS = cast(Table, AnalyticsEvent.__table__)
_KEYS = cast(Table, AnalyticsKey.__table__)
_TOTALS = cast(Table, AnalyticsTotal.__table__)
_STATE = cast(Table, RollupState.__table__)
# A place (the report's row) and the kinds that carry money: the report's statement
# (funnel_query.py) reads them from here.
PLACE_PARTS = ("sku", "source", "campaign", "content", "currency")
MONEY_KINDS = {
    "revenue": ("payment_succeeded", "payment_succeeded_line"),
    "refunds": ("refunded", "refunded_line"),
}
_MARK = select(_STATE.c.last_id).where(_STATE.c.id == 1)
_KEYS_PARTS = [_KEYS.c[p] for p in PLACE_PARTS]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def counted_up_to() -> Any:
    """The roll-up's mark as a scalar subquery: events with ids up to it are counted."""
    return _MARK.scalar_subquery()


def slot_of(moment: datetime) -> int:
    """The 15-minute slot (since the epoch) that holds ``moment``."""
    return int((moment.astimezone(UTC) - EPOCH) // SLOT)


def at_slot(slot: int) -> datetime:
    return EPOCH + slot * SLOT


# -- the roll-up ---------------------------------------------------------------------------
# Every name and number in these statements is a constant of this module: no input reaches
# the text; the ids are bound parameters.


def _slot_sql(dialect: str) -> str:
    seconds = int(SLOT.total_seconds())
    if dialect == "postgresql":
        return f"CAST(floor(extract(epoch FROM occurred_at) / {seconds}) AS integer)"
    return f"CAST(strftime('%s', occurred_at) AS integer) / {seconds}"


# The batch's events per slot and key parts. Money without a currency is not revenue (the
# report shows revenue per currency), so it is not summed: a key may then take a currency.
_SUMS = ", ".join(
    [f"sum(CASE WHEN kind = '{k}' THEN 1 ELSE 0 END) AS {k}" for k in ROLLUP_COUNTS]
    + [
        f"sum(CASE WHEN kind IN ('{a}', '{b}') AND currency IS NOT NULL "
        f"THEN coalesce(amount, 0) ELSE 0 END) AS {name}"
        for name, (a, b) in MONEY_KINDS.items()
    ]
)
_BATCH = """
    SELECT {slot} AS slot, sku, coalesce(source, '') AS source,
           coalesce(campaign, '') AS campaign, coalesce(content, '') AS content,
           coalesce(currency, '') AS currency, {sums}
    FROM analytics_events WHERE id > :after AND id <= :upto
    GROUP BY 1, 2, 3, 4, 5, 6
"""
# The key of a batch row: its parts; without a currency, any key of the same parts.
_MATCH = (
    "k.sku = n.sku AND k.source = n.source AND k.campaign = n.campaign "
    "AND k.content = n.content AND (n.currency = '' OR k.currency = n.currency)"
)
_MISSING = """
    SELECT DISTINCT n.sku, n.source, n.campaign, n.content, n.currency FROM ({batch}) AS n
    WHERE NOT EXISTS (SELECT 1 FROM analytics_keys k WHERE {match})
"""
_FILL_WORK = """
    INSERT INTO analytics_rollup_work (key_id, slot, {columns})
    SELECT key_id, slot, {running}
    FROM (SELECT (SELECT min(k.id) FROM analytics_keys k WHERE {match}) AS key_id, n.*
          FROM ({batch}) AS n) AS m
    GROUP BY key_id, slot
"""
# The latest slots are found first (one backward index probe each), then the rows joined on
# equal keys: a join condition holding the subquery would make PostgreSQL test it per pair.
# Keys with rows at or after their first slot in the batch (late events, or more events in
# the slot that is still filling): the missing rows first, each from the key's previous row.
_FIRSTS = "(SELECT key_id, min(slot) AS first FROM analytics_rollup_work GROUP BY key_id)"
_LATE = "EXISTS (SELECT 1 FROM analytics_totals t WHERE t.key_id = f.key_id AND t.slot >= f.first)"
_ANY_LATE = "SELECT 1 FROM {firsts} AS f WHERE {late} LIMIT 1"
_NEW_ROWS = """
    INSERT INTO analytics_totals (key_id, slot, {columns})
    SELECT w.key_id, w.slot, {previous}
    FROM (SELECT w.key_id, w.slot, (SELECT max(q.slot) FROM analytics_totals q
                                    WHERE q.key_id = w.key_id AND q.slot < w.slot) AS before
          FROM analytics_rollup_work w JOIN {firsts} AS f ON f.key_id = w.key_id
          WHERE {late}) AS w
    LEFT JOIN analytics_totals p ON p.key_id = w.key_id AND p.slot = w.before
    WHERE true
    ON CONFLICT (key_id, slot) DO NOTHING
"""
# Every other key (all of them in a first roll-up over old events, most at a slot's start):
# its new rows follow its last one, so each is that row plus the batch's running sum; one
# probe per key, no update.
_APPEND = """
    INSERT INTO analytics_totals (key_id, slot, {columns})
    SELECT w.key_id, w.slot, {appended}
    FROM analytics_rollup_work w
    JOIN (SELECT f.key_id, (SELECT max(q.slot) FROM analytics_totals q
                            WHERE q.key_id = f.key_id) AS last
          FROM {firsts} AS f WHERE NOT {late}) AS a ON a.key_id = w.key_id
    LEFT JOIN analytics_totals b ON b.key_id = a.key_id AND b.slot = a.last
"""
_ADD = """
    UPDATE analytics_totals SET {add}
    FROM (
        SELECT t.key_id AS key_id, t.slot AS slot, {work}
        FROM (
            SELECT t.key_id, t.slot, (SELECT max(v.slot) FROM analytics_rollup_work v
                                      WHERE v.key_id = t.key_id AND v.slot <= t.slot) AS upto
            FROM (SELECT key_id, min(slot) AS first FROM analytics_rollup_work
                  GROUP BY key_id) AS f
            JOIN analytics_totals t ON t.key_id = f.key_id AND t.slot >= f.first
        ) AS t
        JOIN analytics_rollup_work w ON w.key_id = t.key_id AND w.slot = t.upto
    ) AS r
    WHERE analytics_totals.key_id = r.key_id AND analytics_totals.slot = r.slot
"""
# The keys of the batch take their latest rows (what a report up to now reads).
_LATEST = "FROM analytics_totals t WHERE t.key_id = analytics_keys.id"
_KEY_SLOT = "UPDATE analytics_keys SET last_slot = (SELECT max(t.slot) {latest}) {touched}"
_KEY_COUNTS = "UPDATE analytics_keys SET {key_counts} {touched}"
_NAMES = {
    "columns": ", ".join(ROLLUP_COLUMNS),
    "match": _MATCH,
    "running": ", ".join(
        f"sum(sum({c})) OVER (PARTITION BY key_id ORDER BY slot)" for c in ROLLUP_COLUMNS
    ),
    "previous": ", ".join(f"coalesce(p.{c}, 0)" for c in ROLLUP_COLUMNS),
    "add": ", ".join(f"{c} = analytics_totals.{c} + r.{c}" for c in ROLLUP_COLUMNS),
    "work": ", ".join(f"w.{c} AS {c}" for c in ROLLUP_COLUMNS),
    "appended": ", ".join(f"coalesce(b.{c}, 0) + w.{c}" for c in ROLLUP_COLUMNS),
    "firsts": _FIRSTS,
    "latest": _LATEST,
    "touched": "WHERE id IN (SELECT key_id FROM analytics_rollup_work)",
    "key_counts": ", ".join(
        f"{c} = (SELECT t.{c} {_LATEST} AND t.slot = last_slot)" for c in ROLLUP_COLUMNS
    ),
    "late": _LATE,
    "batch": "{batch}",
}
_NEW_ROWS, _ADD = _NEW_ROWS.format_map(_NAMES), _ADD.format_map(_NAMES)
_APPEND, _ANY_LATE = _APPEND.format_map(_NAMES), _ANY_LATE.format_map(_NAMES)
_KEY_SLOT, _KEY_COUNTS = _KEY_SLOT.format_map(_NAMES), _KEY_COUNTS.format_map(_NAMES)
_MISSING, _FILL_WORK = _MISSING.format_map(_NAMES), _FILL_WORK.format_map(_NAMES)


def _add_keys(connection: Connection, batch: str, ids: dict[str, int]) -> None:
    """Create the keys the batch needs, in two statements whatever their number. Money in a
    new currency first takes over a key of the same parts that has no currency yet (it
    holds no money), else gets a key; a batch row without money needs any key of its parts."""
    missing = connection.execute(text(_MISSING.format(batch=batch)), ids).all()
    if not missing:
        return
    k = _KEYS.c
    have: set[tuple[str, ...]] = set()
    blank: dict[tuple[str, ...], int] = {}  # the first key of the parts without a currency
    for *place, had, key in connection.execute(select(*_KEYS_PARTS, k.id).order_by(k.id)):
        have.add(tuple(place))
        if had == "":
            blank.setdefault(tuple(place), key)
    taken: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    for *place, currency in sorted(missing, key=lambda m: (m[4] == "", tuple(m))):
        parts = tuple(place)
        if currency and parts in blank:
            taken.append({"key": blank.pop(parts), "currency": currency})
        elif currency or parts not in have:
            new.append(dict(zip(PLACE_PARTS, (*parts, currency), strict=True)))
        have.add(parts)
    if taken:
        connection.execute(
            _KEYS.update().where(k.id == bindparam("key")).values(currency=bindparam("currency")),
            taken,
        )
    if new:
        connection.execute(_KEYS.insert(), new)


def _count(connection: Connection, after: int, upto: int) -> None:
    batch = _BATCH.format(slot=_slot_sql(connection.dialect.name), sums=_SUMS)
    ids = {"after": after, "upto": upto}
    _add_keys(connection, batch, ids)
    filled = connection.execute(text(_FILL_WORK.format(batch=batch)), ids).rowcount
    if connection.dialect.name == "postgresql" and filled > 10_000:
        # The scratch table's statistics are those of an empty table (autovacuum sees it
        # between transactions): with them PostgreSQL joins a big batch's rows in nested
        # loops, minutes per batch of a first run. A sample fixes the plans (tens of ms).
        connection.exec_driver_sql("ANALYZE analytics_rollup_work")
    if connection.execute(text(_ANY_LATE)).first():  # not in a first run over old events
        connection.execute(text(_NEW_ROWS))  # late keys: missing rows, then add to every
        connection.execute(text(_ADD))  # row from the batch's first slot on
    connection.execute(text(_APPEND))  # the other keys: rows after their last one
    connection.execute(text(_KEY_SLOT))
    connection.execute(text(_KEY_COUNTS))
    connection.execute(text(_UNSET_START))  # events older than the keys' start counts
    connection.execute(text("DELETE FROM analytics_rollup_work"))


def _committed_up_to(sessions: sessionmaker[Session]) -> int | None:
    """The highest event id whose transaction has committed, every lower id settled too;
    ``None`` when open inserts did not finish within 50 ms (try again next time)."""
    highest = select(func.coalesce(func.max(_EVENTS.c.id), 0))
    try:
        with sessions() as session, session.begin():
            connection = session.connection()
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
                connection.exec_driver_sql("LOCK TABLE analytics_events IN SHARE MODE")
            return int(connection.execute(highest).scalar_one())
    except OperationalError:
        return None


def roll_up(
    sessions: sessionmaker[Session], *, batch: int = BATCH, now: datetime | None = None
) -> int:
    """Count the events not counted yet into the totals, ``batch`` ids per transaction,
    then bring the keys' start counts to the start of :data:`START_WINDOW` up to ``now``.
    Returns how many ids it moved past (0 when another process holds the mark)."""
    wanted = start_of_window(now or datetime.now(UTC))
    with sessions() as session:  # nothing new (most runs when idle): no write transaction
        newest = session.scalar(select(func.max(_EVENTS.c.id)))
        mark, start = session.execute(_MARKS).one()
    moved = 0
    if newest is not None and newest > (mark or 0):
        moved = _roll_up(sessions, batch)
        if moved:
            with sessions() as session:
                start = session.execute(_MARKS).one()[1]
    if start != wanted:
        _count_start(sessions, wanted)
    return moved


def _roll_up(sessions: sessionmaker[Session], batch: int) -> int:
    upto = _committed_up_to(sessions)
    moved = 0
    while upto is not None:
        with write_session(sessions) as session:
            connection = session.connection()
            after = int(connection.execute(_MARK).scalar_one())
            step = min(upto, after + batch)
            if step <= after:
                break
            claimed = connection.execute(
                _STATE.update()
                .where(_STATE.c.id == 1, _STATE.c.last_id == after)
                .values(last_id=step)
            )
            if claimed.rowcount != 1:  # another process got there first
                break
            _count(connection, after, step)
            moved += step - after
        if step >= upto:
            break
    return moved


# -- the keys' start counts ------------------------------------------------------------------
# The dashboard's report (30 days up to now) would otherwise probe the totals once per key for
# its start. Every key row holds its totals before ``start_slot`` (migration 0041): the
# roll-up moves them to the window's start when a slot boundary passes (every 15 minutes, one
# statement over the keys) and a batch holding an event older than them unsets the slot (a
# late event: the report probes until the next roll-up counts them again).
START_WINDOW = timedelta(days=30)
_MARKS = select(_STATE.c.last_id, _STATE.c.start_slot).where(_STATE.c.id == 1)
_START = """
    UPDATE analytics_keys SET {start}
    FROM (SELECT k.id AS key_id, {columns} FROM analytics_keys k
          LEFT JOIN analytics_totals t ON t.key_id = k.id AND t.slot = (
              SELECT max(q.slot) FROM analytics_totals q WHERE q.key_id = k.id AND q.slot < :slot)
    ) AS s
    WHERE analytics_keys.id = s.key_id
"""
_START = _START.format_map(
    {
        "start": ", ".join(f"start_{c} = coalesce(s.{c}, 0)" for c in ROLLUP_COLUMNS),
        "columns": ", ".join(f"t.{c} AS {c}" for c in ROLLUP_COLUMNS),
    }
)
_UNSET_START = """
    UPDATE analytics_rollup_state SET start_slot = NULL WHERE id = 1 AND EXISTS (
        SELECT 1 FROM analytics_rollup_work w WHERE w.slot < analytics_rollup_state.start_slot)
"""


def start_of_window(now: datetime) -> int:
    """The first whole slot of the :data:`START_WINDOW` up to ``now`` (a report's start)."""
    since = now - START_WINDOW
    first = slot_of(since)
    return first + 1 if at_slot(first) < since else first


def _count_start(sessions: sessionmaker[Session], slot: int) -> None:
    """Every key's totals before ``slot`` onto the key, in one statement. The state row is
    written first: a roll-up batch (which writes it first too) waits for this to commit."""
    with write_session(sessions) as session:
        connection = session.connection()
        moved = connection.execute(
            _STATE.update()
            .where(_STATE.c.id == 1, _STATE.c.start_slot.is_distinct_from(slot))
            .values(start_slot=slot)
        )
        if moved.rowcount == 1:  # else another process just did it
            connection.execute(text(_START), {"slot": slot})


def forget(sessions: sessionmaker[Session], *, before: datetime) -> int:
    """Delete the totals of slots before ``before`` (retention's ``rollups`` days), keeping
    each key's latest such row: the base the kept rows are counted from."""
    kept = slot_of(before)
    t = _TOTALS.c
    q = _TOTALS.alias("q")
    latest = (
        select(func.max(q.c.slot)).where(q.c.key_id == t.key_id, q.c.slot < kept).scalar_subquery()
    )
    with write_session(sessions) as session:
        connection = session.connection()
        result = connection.execute(_TOTALS.delete().where(t.slot < kept, t.slot < latest))
        connection.execute(
            _STATE.update()
            .where(_STATE.c.id == 1, _STATE.c.kept_from < kept)
            .values(kept_from=kept)
        )
        return int(result.rowcount)
