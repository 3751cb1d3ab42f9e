"""Report rollups (issue 18): the funnel report reads blocks of hours instead of raw events,
and answers exactly what the raw events say, before, during and after a roll-up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import AnalyticsEvent, AnalyticsTotal, RollupState
from buybutton_server.domain import analytics, retention, rollups
from buybutton_server.settings_rules import Retention

NOW = datetime(2026, 11, 26, 15, 37, 12, tzinfo=UTC)


def event(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "sku": "MUG-01", "source": "blog", "campaign": None, "content": "p1",
            "amount": None, "currency": None, "occurred_at": at, **fields}  # fmt: skip


def seed(sessions: sessionmaker[Session], count: int = 600, seed: int = 3) -> None:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        kind = rng.choice(["impression", "click", "click_line", "payment_succeeded", "refunded"])
        money = kind in ("payment_succeeded", "refunded")
        rows.append(
            event(
                kind,
                NOW - timedelta(seconds=rng.randrange(40 * 86400)),
                sku=rng.choice(["MUG-01", "TEE-02"]),
                source=rng.choice(["blog", "tiktok", None]),
                content=rng.choice(["p1", None]),
                amount=rng.randrange(100, 5000) if money else None,
                currency=rng.choice(["USD", "EUR"]) if money else None,
            )
        )
    with write_session(sessions) as session:
        analytics.record(session, rows)


def summary(report: analytics.Report) -> list[tuple[Any, ...]]:
    return sorted(
        (r.sku, r.source or "", r.campaign or "", r.content or "", r.impressions, r.clicks,
         r.paid, r.refunded, sorted(r.revenue.items()), sorted(r.first_lines.items()))
        for r in report.rows
    )  # fmt: skip


RANGES = [
    (NOW - timedelta(days=30), NOW + timedelta(seconds=1)),  # the dashboard's default
    (NOW - timedelta(days=7, minutes=13), NOW - timedelta(days=2, minutes=59)),
    (NOW - timedelta(minutes=50), NOW),  # less than one whole hour
    (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)),  # whole days
]


def test_the_report_is_the_same_before_and_after_rolling_up(
    sessions: sessionmaker[Session],
) -> None:
    seed(sessions)
    before = {r: summary(analytics.report(sessions, *r)) for r in RANGES}
    one_product = summary(analytics.report(sessions, *RANGES[0], sku="TEE-02"))
    assert rollups.roll_up(sessions, batch=250) == 600  # three transactions
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AnalyticsTotal)) > 0
        assert session.scalar(select(RollupState.last_id)) == session.scalar(
            select(func.max(AnalyticsEvent.id))
        )
    for r in RANGES:
        assert summary(analytics.report(sessions, *r)) == before[r], r
    assert summary(analytics.report(sessions, *RANGES[0], sku="TEE-02")) == one_product
    # Nothing is counted twice: a second run has nothing to do.
    assert rollups.roll_up(sessions) == 0
    assert summary(analytics.report(sessions, *RANGES[0])) == before[RANGES[0]]


def test_events_after_the_roll_up_are_read_raw_until_the_next(
    sessions: sessionmaker[Session],
) -> None:
    seed(sessions, 200)
    rollups.roll_up(sessions)
    window = (NOW - timedelta(days=30), NOW + timedelta(seconds=1))
    base = analytics.report(sessions, *window).totals.impressions
    late = [event("impression", NOW - timedelta(days=3, minutes=m)) for m in range(5)]
    with write_session(sessions) as session:
        analytics.record(session, late)
    assert analytics.report(sessions, *window).totals.impressions == base + 5  # raw
    assert rollups.roll_up(sessions) == 5
    assert analytics.report(sessions, *window).totals.impressions == base + 5  # rolled


def test_the_buffer_flush_rolls_up(sessions: sessionmaker[Session]) -> None:
    buffer = analytics.EventBuffer()
    buffer.add([event("click", NOW - timedelta(hours=5))])
    assert buffer.flush(sessions) == 1
    with sessions() as session:
        assert session.scalar(select(RollupState.last_id)) == session.scalar(
            select(func.max(AnalyticsEvent.id))
        )
        slots = session.scalars(select(AnalyticsTotal.slot)).all()
    assert slots == [rollups.slot_of(NOW - timedelta(hours=5))]  # one row: the event's slot


def test_a_claimed_mark_is_left_to_the_process_that_moved_it(
    sessions: sessionmaker[Session],
) -> None:
    seed(sessions, 50)
    real = rollups._committed_up_to
    try:
        # Another process moves the mark between this one's reading of the highest id and
        # its claim: this run must not count those events again.
        def racing(factory: sessionmaker[Session]) -> int | None:
            upto = real(factory)
            with write_session(factory) as session:
                session.execute(RollupState.__table__.update().values(last_id=upto))
            return upto

        rollups._committed_up_to = racing  # type: ignore[assignment]
        assert rollups.roll_up(sessions) == 0
    finally:
        rollups._committed_up_to = real  # type: ignore[assignment]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AnalyticsTotal)) == 0


def test_retention_rolls_up_before_deleting_and_forgets_old_blocks(
    sessions: sessionmaker[Session],
) -> None:
    old = NOW - timedelta(days=120)
    with write_session(sessions) as session:
        analytics.record(session, [event("click", old + timedelta(minutes=i)) for i in range(3)])
        analytics.record(session, [event("click", old + timedelta(days=1))])  # a second slot
    window = (old - timedelta(days=1), NOW)
    assert analytics.report(sessions, *window).totals.clicks == 4
    retention.prune(sessions, Retention(), now=NOW)  # raw events go, unrolled until now
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AnalyticsEvent)) == 0
    assert analytics.report(sessions, *window).totals.clicks == 4
    later = NOW + timedelta(days=731)
    done = retention.prune(sessions, Retention(), now=later)
    assert done.counts["report rollups"] == 1  # the key's latest row stays: the base
    with sessions() as session:
        left = session.scalars(select(AnalyticsTotal.slot)).all()
        kept_from = session.scalar(select(RollupState.kept_from))
    assert left == [rollups.slot_of(old + timedelta(days=1))]
    assert kept_from == rollups.slot_of(later - timedelta(days=Retention().rollups))
    # A range reaching back past the kept period counts from its start: nothing here.
    assert analytics.report(sessions, old - timedelta(days=1), later).totals.clicks == 0
    with write_session(sessions) as session:
        analytics.record(session, [event("click", later - timedelta(hours=2))])
    assert analytics.report(sessions, old - timedelta(days=1), later).totals.clicks == 1
    rollups.roll_up(sessions)
    assert analytics.report(sessions, old - timedelta(days=1), later).totals.clicks == 1


def test_migration_0035_carries_the_hourly_blocks_over_both_ways(
    database_url: str, sessions: sessionmaker[Session]
) -> None:
    """Down to 0034 (the blocks of 0031 rebuilt from the totals) and up again (totals from
    the raw events already counted, and from the blocks of hours without raw events): the
    reports are unchanged, at any edges (the dashboard's are not on an hour)."""
    from alembic import command

    from buybutton_server.db import alembic_config

    seed(sessions, 300)
    rollups.roll_up(sessions)
    hours = [
        (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)),
        (NOW - timedelta(days=30, minutes=37, seconds=12), NOW - timedelta(minutes=37, seconds=12)),
        (NOW - timedelta(days=30), NOW + timedelta(seconds=1)),
        (NOW - timedelta(days=6, minutes=7), NOW - timedelta(days=1, minutes=52)),
    ]
    before = [summary(analytics.report(sessions, *r)) for r in hours]
    config = alembic_config(database_url)
    command.downgrade(config, "0034")
    with sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM analytics_rollups WHERE span = 4096"))
    command.upgrade(config, "head")
    sessions.kw["bind"].dispose()
    assert [summary(analytics.report(sessions, *r)) for r in hours] == before
    # Events without money (0031's currency '') went to their place's key with a currency.
    split = """SELECT count(*) FROM analytics_keys a JOIN analytics_keys b ON a.sku = b.sku
        AND a.source = b.source AND a.campaign = b.campaign AND a.content = b.content
        AND a.currency = '' AND b.currency <> ''"""
    with sessions() as session:
        assert session.scalar(text(split)) == 0
        assert session.scalar(text("SELECT count(*) FROM analytics_keys WHERE currency <> ''"))


def test_the_dashboards_30_days_read_their_start_on_the_keys(
    sessions: sessionmaker[Session],
) -> None:
    """The dashboard's range (30 days up to now) reads each key's totals before its start on
    the key row (migration 0041), kept by the roll-up; an event older than that start is
    counted in again, and until then the report probes the totals as for any range."""
    now = rollups.at_slot(rollups.slot_of(datetime.now(UTC))) + timedelta(minutes=7, seconds=3)
    rng = random.Random(5)
    rows = [
        event(
            rng.choice(["impression", "click", "payment_succeeded", "refunded_line"]),
            now - timedelta(seconds=rng.randrange(40 * 86400)),
            sku=rng.choice(["MUG-01", "TEE-02"]),
            source=rng.choice(["blog", None]),
            amount=500,
            currency=rng.choice(["USD", "EUR"]),
        )
        for _ in range(400)
    ]
    with write_session(sessions) as session:
        analytics.record(session, rows)
    until = now + timedelta(seconds=1)  # as parse_range: up to now
    since = until - timedelta(days=30)

    def reports() -> tuple[list[Any], list[Any]]:
        rolled = analytics.report(sessions, since, until)
        raw = analytics.report(sessions, since, until, rolled=False)
        return [*summary(rolled), rolled.totals], [*summary(raw), raw.totals]

    rollups.roll_up(sessions, now=now)
    start = rollups.start_of_window(now)
    with sessions() as session:
        assert session.scalar(select(RollupState.start_slot)) == start
    rolled, raw = reports()
    assert rolled == raw
    # It reads them: a wrong start count on every key shows in the report.
    with write_session(sessions) as session:
        session.execute(text("UPDATE analytics_keys SET start_click = start_click + 1000"))
    assert analytics.report(sessions, since, until).totals.clicks < raw[-1].clicks
    with write_session(sessions) as session:
        session.execute(text("UPDATE analytics_keys SET start_click = start_click - 1000"))
    # A late event before the start unsets them (the report probes), the roll-up recounts.
    late = event("click", now - timedelta(days=33), sku="TEE-02", source="blog")
    with write_session(sessions) as session:
        analytics.record(session, [late])
    assert rollups.roll_up(sessions, now=now, batch=1) == 1
    with sessions() as session:
        assert session.scalar(select(RollupState.start_slot)) == start
    assert reports() == (raw, raw)  # the late click is before the range
    older = event("click", now - timedelta(days=31), sku="MUG-01", source=None)
    with write_session(sessions) as session:
        analytics.record(session, [older])
    rollups._roll_up(sessions, batch=10)  # counted, the start counts not yet: probes
    with sessions() as session:
        assert session.scalar(select(RollupState.start_slot)) is None
    rolled, raw = reports()
    assert rolled == raw
    rollups.roll_up(sessions, now=now)
    assert reports() == (rolled, raw)
    # Time moves on a slot: the next roll-up moves the start counts with it.
    later = now + timedelta(minutes=15)
    rollups.roll_up(sessions, now=later)
    with sessions() as session:
        assert session.scalar(select(RollupState.start_slot)) == start + 1
    since, until = since + timedelta(minutes=15), until + timedelta(minutes=15)
    rolled, raw = reports()
    assert rolled == raw
