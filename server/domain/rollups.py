"""Funnel totals kept per block of hours, so a report costs the same over 10 events or 10
million (issue 18).

Every analytics event is counted, once the roll-up has seen it, in one block of each span:
1, 2, 4 ... 4096 hours, each block starting at a multiple of its span (hours since the Unix
epoch). Any range of whole hours splits into at most two blocks per span
(:func:`blocks`), about a dozen for 30 days; the report adds those up, plus the raw events
of the partial hours at either end and the few events the roll-up has not seen yet.

The roll-up (:func:`roll_up`) runs after each flush of the event buffer, about once a
second, and before each report: it counts the events with ids above the last one counted,
adds them to every span in one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE``, and moves
the mark, in one transaction; a second process doing the same gives up (the mark moved).
On PostgreSQL, ids are handed out before their transactions commit, so the roll-up first
takes a brief ``SHARE`` lock on the events (it waits for open inserts, at most 50 ms) and
counts only up to the highest id committed then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    case,
    func,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import AnalyticsEvent, AnalyticsRollup, RollupState
from buybutton_server.db.models.analytics import ROLLUP_COUNTS

SPANS = tuple(2**n for n in range(13))  # hours: 1 ... 4096 (170 days)
BATCH = 500_000  # events per roll-up transaction (a first run over old events takes several)
_EVENTS = cast(Table, AnalyticsEvent.__table__)
_ROLLUPS = cast(Table, AnalyticsRollup.__table__)
_STATE = cast(Table, RollupState.__table__)
_KEY = ("sku", "source", "campaign", "content", "currency")
_MONEY = {
    "revenue": ("payment_succeeded", "payment_succeeded_line"),
    "refunds": ("refunded", "refunded_line"),
}
_MARK = select(_STATE.c.last_id).where(_STATE.c.id == 1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def hour_of(moment: datetime) -> int:
    """Whole hours since the epoch at or before ``moment``."""
    return int((moment.astimezone(UTC) - EPOCH) // HOUR)


def at_hour(hour: int) -> datetime:
    return EPOCH + hour * HOUR


def blocks(first: int, end: int) -> list[tuple[int, int]]:
    """``(span, start)`` of the aligned blocks that exactly cover hours ``first``..``end``
    (end excluded): the largest aligned block that fits at each step, at most two per span."""
    out: list[tuple[int, int]] = []
    hour = first
    while hour < end:
        span = SPANS[-1]
        while span > 1 and (hour % span or hour + span > end):
            span //= 2
        out.append((span, hour))
        hour += span
    return out


# -- the roll-up ---------------------------------------------------------------------------


def _hour_sql(dialect: str) -> str:
    if dialect == "postgresql":
        return "CAST(floor(extract(epoch FROM occurred_at) / 3600) AS integer)"
    return "CAST(strftime('%s', occurred_at) AS integer) / 3600"


_UPSERT = """
    INSERT INTO analytics_rollups (span, hour, {key}, {columns})
    SELECT s.span, n.hour / s.span * s.span, {n_key}, {n_sums}
    FROM (
        SELECT {hour} AS hour, sku, coalesce(source, '') AS source,
               coalesce(campaign, '') AS campaign, coalesce(content, '') AS content,
               coalesce(currency, '') AS currency, {sums}
        FROM analytics_events WHERE id > :after AND id <= :upto
        GROUP BY 1, 2, 3, 4, 5, 6
    ) AS n CROSS JOIN ({spans}) AS s
    WHERE true
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (span, hour, {key}) DO UPDATE SET {add}
"""


def _upsert_sql(dialect: str) -> str:
    """Every name and number in it is a constant of this module: no input reaches the text."""
    counts = [f"sum(CASE WHEN kind = '{k}' THEN 1 ELSE 0 END) AS {k}" for k in ROLLUP_COUNTS]
    money = [
        f"sum(CASE WHEN kind IN ('{a}', '{b}') THEN coalesce(amount, 0) ELSE 0 END) AS {name}"
        for name, (a, b) in _MONEY.items()
    ]
    columns = [*ROLLUP_COUNTS, *_MONEY]
    return _UPSERT.format(
        key=", ".join(_KEY),
        columns=", ".join(columns),
        n_key=", ".join("n." + k for k in _KEY),
        n_sums=", ".join(f"sum(n.{c})" for c in columns),
        hour=_hour_sql(dialect),
        sums=", ".join(counts + money),
        spans=" UNION ALL ".join(f"SELECT {s} AS span" for s in SPANS),
        add=", ".join(f"{c} = analytics_rollups.{c} + excluded.{c}" for c in columns),
    )


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


def roll_up(sessions: sessionmaker[Session], *, batch: int = BATCH) -> int:
    """Count the events not counted yet into the rollups, ``batch`` ids per transaction.
    Returns how many ids it moved past (0 when another process holds the mark)."""
    with sessions() as session:  # nothing new (most runs when idle): no write transaction
        newest = session.scalar(select(func.max(_EVENTS.c.id)))
        if newest is None or newest <= (session.scalar(_MARK) or 0):
            return 0
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
            connection.execute(
                text(_upsert_sql(connection.dialect.name)), {"after": after, "upto": step}
            )
            moved += step - after
        if step >= upto:
            break
    return moved


def forget(sessions: sessionmaker[Session], *, before: datetime) -> int:
    """Delete the blocks that end at or before ``before`` (retention's ``rollups`` days)."""
    r = _ROLLUPS.c
    with write_session(sessions) as session:
        result = session.connection().execute(
            _ROLLUPS.delete().where(r.hour + r.span <= hour_of(before))
        )
        return int(result.rowcount)


# -- reading -------------------------------------------------------------------------------


def funnel_query(since: datetime, until: datetime, sku: str | None) -> Any:
    """One statement (one snapshot: a roll-up committing meanwhile is seen whole or not at
    all) with the counts and money per product, placement and currency between ``since``
    and ``until``: the blocks of the whole hours, the raw events of the partial hours at
    either end, and the raw events of the whole hours that the roll-up has not counted."""
    first, end = hour_of(since), hour_of(until)
    if at_hour(first) < since:
        first += 1
    if first >= end:  # not one whole hour: raw events only
        first = end = hour_of(until)
        whole_from = whole_to = until
    else:
        whole_from, whole_to = at_hour(first), at_hour(end)
    r, e = _ROLLUPS.c, _EVENTS.c
    columns = [*ROLLUP_COUNTS, *_MONEY]
    parts: list[Any] = []
    covered = blocks(first, end)
    if covered:
        where: list[Any] = [or_(*(and_(r.span == s, r.hour == h) for s, h in covered))]
        if sku:
            where.append(r.sku == sku)
        parts.append(select(*(r[k] for k in _KEY), *(r[c] for c in columns)).where(*where))
    mark = select(_STATE.c.last_id).where(_STATE.c.id == 1).scalar_subquery()
    raw_key = [e.sku, *(func.coalesce(e[k], "").label(k) for k in _KEY[1:])]
    raw_sums = [func.sum(case((e.kind == k, 1), else_=0)).label(k) for k in ROLLUP_COUNTS]
    raw_sums += [
        func.sum(case((e.kind.in_(kinds), func.coalesce(e.amount, 0)), else_=0)).label(name)
        for name, kinds in _MONEY.items()
    ]
    at = func.coalesce(e.occurred_at, e.occurred_at)
    for where in (
        [e.occurred_at >= since, e.occurred_at < whole_from],
        [e.occurred_at >= whole_to, e.occurred_at < until],
        # By id, not by time: coalesce() keeps the planners off the time index here, which
        # would read every event of the range instead of the second's worth above the mark.
        [e.id > mark, at >= whole_from, at < whole_to],
    ):
        if sku:
            where.append(e.sku == sku)
        parts.append(select(*raw_key, *raw_sums).where(*where).group_by(*raw_key))
    both = union_all(*parts).subquery()
    keys = [both.c[k] for k in _KEY]
    return select(*keys, *(func.sum(both.c[c]).label(c) for c in columns)).group_by(*keys)


def funnel_rows(
    session: Session, since: datetime, until: datetime, sku: str | None
) -> Sequence[Any]:
    return session.execute(funnel_query(since, until, sku)).all()
