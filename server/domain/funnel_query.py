"""The funnel report's one statement (issue 18): what the report shows per key, from the
running totals of :mod:`buybutton_server.domain.rollups` and the raw events of the partial
slots.

A ``UNION ALL`` of parts with the columns ``FUNNEL_COLUMNS``: per key, its totals at the
range's end minus those before its start (for a range up to now the end is on the key row,
and for the dashboard's 30 days the start too), and the raw events of the partial slots at
either end and of those the roll-up has not counted yet, grouped per place and currency.
Each part computes the report's figures itself (each count of all lines and of first lines,
the net money as an integer), so Python only adds up the few places that come in several
rows (:func:`buybutton_server.domain.analytics.report`). Adding them up in SQL instead (a
``GROUP BY`` over the union) cost PostgreSQL 10 ms of aggregates at 1,500 keys: more than
it saves.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from typing import cast as typed

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from buybutton_server.db.models import AnalyticsEvent, AnalyticsKey, AnalyticsTotal, RollupState
from buybutton_server.db.models.analytics import ROLLUP_COLUMNS
from buybutton_server.domain.rollups import MONEY_KINDS, PLACE_PARTS, at_slot, slot_of

_EVENTS = typed(Table, AnalyticsEvent.__table__)
_KEYS = typed(Table, AnalyticsKey.__table__)
_TOTALS = typed(Table, AnalyticsTotal.__table__)
_STATE = typed(Table, RollupState.__table__)
# The report's counts (FunnelRow's fields) and the event kinds each adds up.
COUNTS = {
    "impressions": "impression",
    "clicks": "click",
    "checkouts": "checkout_started",
    "paid": "payment_succeeded",
    "failed": "payment_failed",
    "refunded": "refunded",
}
# A row of the answer: the place (missing parts ``''``) and currency, each count of every
# line, the same counts of first lines only (what the totals add up), and the net money
# (revenue - refunds; revenue only with a currency, and where payments or refunds counted).
FUNNEL_COLUMNS = (
    "sku", "source", "campaign", "content", "currency", *COUNTS, *(f"first_{c}" for c in COUNTS),
    "net",
)  # fmt: skip


def _totals_parts(by_sku: bool, lateral: bool) -> list[Any]:
    """Per key: its totals at slot ``:end`` minus those before ``:first`` (or before the
    first slot kept, if later); keys with no row in between are left out. Two parts: keys
    whose latest row is before ``:end`` (a report up to now: all of them) read the end
    figures on the key itself, one index probe per key for the start; the others read the
    latest row before ``:end`` too. SQLite finds each slot first, then joins the row on
    equal keys; PostgreSQL fetches it with one ``LATERAL`` probe."""
    k = _KEYS.c
    kept, first, end = (
        _STATE.c.kept_from,
        bindparam("first", type_=Integer),
        bindparam("end", type_=Integer),
    )
    start = (
        select(case((kept > first, kept), else_=first)).where(_STATE.c.id == 1).scalar_subquery()
    )

    def joined(before: Any, name: str, outer: bool, on_keys: Any) -> tuple[Any, Any]:
        """``on_keys`` joined with each key's latest row before slot ``before``."""
        t = _TOTALS.alias(name)
        if lateral:  # one backward index probe fetches the row itself
            row = (
                select(t.c.slot, *(t.c[c] for c in ROLLUP_COLUMNS))
                .where(t.c.key_id == k.id, t.c.slot < before)
                .order_by(t.c.slot.desc())
                .limit(1)
                .lateral(name + "_row")
            )
            return on_keys.join(row, true(), isouter=outer), row
        q = _TOTALS.alias(name + "_q")
        slot = select(func.max(q.c.slot)).where(q.c.key_id == k.id, q.c.slot < before)
        on = and_(t.c.key_id == k.id, t.c.slot == slot.scalar_subquery())
        return on_keys.join(t, on, isouter=outer), t

    def differences(e: Any, s: Any) -> list[Any]:
        return _shown({c: e[c] - func.coalesce(s.c[c], 0) for c in ROLLUP_COLUMNS})

    def from_key(e: Any) -> list[Any]:
        return _shown({c: e[c] - k[f"start_{c}"] for c in ROLLUP_COLUMNS})

    # The dashboard's range (30 days up to now): the start figures are on the key too, when
    # the roll-up has counted them for this start (rollups.START_WINDOW).
    counted = select(_STATE.c.start_slot).where(_STATE.c.id == 1).scalar_subquery()
    marked, probed = counted == start, func.coalesce(counted, -1) != start
    parts = []
    # Up to now: the end figures are on the key.
    on_keys, s = joined(start, "s", True, _KEYS)
    up_to_now = and_(k.last_slot < end, k.last_slot >= start)
    now = select(*(k[p] for p in PLACE_PARTS), *differences(k, s)).select_from(on_keys)
    parts.append(now.where(up_to_now, probed))
    parts.append(select(*(k[p] for p in PLACE_PARTS), *from_key(k)).where(up_to_now, marked))
    # Ending before the key's latest row: that row too.
    on_keys, e = joined(end, "e", False, _KEYS)
    ended = select(*(k[p] for p in PLACE_PARTS), *from_key(e.c)).select_from(on_keys)
    on_keys, s = joined(start, "s", True, on_keys)
    past = select(*(k[p] for p in PLACE_PARTS), *differences(e.c, s)).select_from(on_keys)
    parts.append(past.where(k.last_slot >= end, e.c.slot >= start, probed))
    parts.append(ended.where(k.last_slot >= end, e.c.slot >= start, marked))
    if by_sku:
        parts = [part.where(k.sku == bindparam("sku")) for part in parts]
    return parts


def _shown(d: dict[str, Any]) -> list[Any]:
    """What the report shows from one part's figures per column: each count of every line,
    of first lines, and the money (revenue - refunds)."""
    return [
        *((d[kind] + d[f"{kind}_line"]).label(name) for name, kind in COUNTS.items()),
        *(d[kind].label(f"first_{name}") for name, kind in COUNTS.items()),
        (d["revenue"] - d["refunds"]).label("net"),
    ]


@functools.cache
def _funnel_statement(by_sku: bool, whole: bool, rolled: bool, dialect: str) -> Any:
    """The report's statement, built once per shape; the times and slots are parameters."""
    e = _EVENTS.c
    lateral = dialect == "postgresql"
    parts: list[Any] = _totals_parts(by_sku, lateral) if whole and rolled else []
    mark = select(_STATE.c.last_id).where(_STATE.c.id == 1).scalar_subquery()
    raw_key = [e.sku, *(func.coalesce(e[k], "").label(k) for k in PLACE_PARTS[1:])]
    amount = func.coalesce(e.amount, 0)
    raw_sums = [
        *(
            func.sum(case((e.kind.in_((kind, f"{kind}_line")), 1), else_=0)).label(name)
            for name, kind in COUNTS.items()
        ),
        *(
            func.sum(case((e.kind == kind, 1), else_=0)).label(f"first_{name}")
            for name, kind in COUNTS.items()
        ),
        cast(  # PostgreSQL's sum(bigint) is numeric: a Decimal each in Python
            func.sum(
                case(
                    (e.kind.in_(MONEY_KINDS["revenue"]), amount),
                    (e.kind.in_(MONEY_KINDS["refunds"]), -amount),
                    else_=0,
                )
            ),
            BigInteger,
        ).label("net"),
    ]
    at = func.coalesce(e.occurred_at, e.occurred_at)
    time = DateTime(timezone=True)
    since, until = bindparam("since", type_=time), bindparam("until", type_=time)
    whole_from, whole_to = bindparam("whole_from", type_=time), bindparam("whole_to", type_=time)
    ranges = [[e.occurred_at >= since, e.occurred_at < until]]
    if rolled:
        ranges = [
            [e.occurred_at >= since, e.occurred_at < whole_from],
            [e.occurred_at >= whole_to, e.occurred_at < until],
            # By id, not by time: coalesce() keeps the planners off the time index here,
            # which would read every event of the range instead of the few above the mark.
            [e.id > mark, at >= whole_from, at < whole_to],
        ]
    for where in ranges:
        if by_sku:
            where.append(e.sku == bindparam("sku"))
        parts.append(select(*raw_key, *raw_sums).where(*where).group_by(*raw_key))
    return union_all(*parts)


def funnel_rows(
    session: Session, since: datetime, until: datetime, sku: str | None, *, rolled: bool = True
) -> Sequence[Any]:
    """``FUNNEL_COLUMNS`` tuples; a place may come in several (add them up). One statement
    (one snapshot: a roll-up committing meanwhile is seen whole or not at all): the totals
    of the whole slots between ``since`` and ``until``, the raw events of the partial slots
    at either end, and the raw events of the whole slots that the roll-up has not counted.
    ``rolled=False``: every event of the range read raw (tests and benchmarks compare)."""
    since, until = since.astimezone(UTC), until.astimezone(UTC)  # SQLite stores UTC times
    first, end = slot_of(since), slot_of(until)
    if at_slot(first) < since:
        first += 1
    whole = first < end
    if not whole:  # not one whole slot: raw events only
        first = end = slot_of(until)
    params: dict[str, Any] = {"since": since, "until": until, "first": first, "end": end}
    params.update(whole_from=at_slot(first), whole_to=at_slot(end))
    if not whole:
        params.update(whole_from=until, whole_to=until)
    if sku:
        params["sku"] = sku
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":  # the few events above the mark: not worth parallel workers
        connection.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    statement = _funnel_statement(bool(sku), whole, rolled, dialect)
    return connection.execute(statement, params).all()
