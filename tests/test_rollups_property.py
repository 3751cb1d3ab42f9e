"""Property: the funnel report read from the running totals (domain/rollups.py) is exactly
the report read from the raw events, whatever the events (late ones included), wherever
the range's edges fall (on a slot boundary, inside one, in another time zone) and however
the roll-ups interleave with the writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from buybutton_server.db import write_session
from buybutton_server.db.models import AnalyticsEvent, AnalyticsKey, AnalyticsTotal, RollupState
from buybutton_server.domain import analytics, rollups

NOW = datetime(2026, 11, 26, 15, 37, 12, tzinfo=UTC)
SPAN = 3 * 86400  # events within three days before NOW
MONEY = ("payment_succeeded", "payment_succeeded_line", "refunded", "refunded_line")
KINDS = ("impression", "click", "click_line", "checkout_started", "payment_failed", *MONEY)
ZONES = [timezone(timedelta(minutes=m)) for m in (0, 60, 330, 345, -210, -480)]

# Seconds before NOW: often on or near a slot boundary (15 minutes), sometimes anywhere.
seconds = st.one_of(
    st.integers(0, SPAN),
    st.integers(0, SPAN // 900).map(lambda n: n * 900),
    st.integers(0, SPAN // 900).flatmap(lambda n: st.integers(n * 900 - 1, n * 900 + 1)),
).map(lambda s: max(0, min(SPAN, s)))


@st.composite
def an_event(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    money = kind in MONEY
    return {
        "kind": kind,
        "sku": draw(st.sampled_from(["MUG-01", "TEE-02"])),
        "source": draw(st.sampled_from(["blog", "tiktok", None])),
        "campaign": draw(st.sampled_from(["drop", None])),
        "content": draw(st.sampled_from(["p1", None])),
        "amount": draw(st.integers(0, 5000)) if money else None,
        "currency": draw(st.sampled_from(["USD", "EUR"])) if money else None,
        "occurred_at": NOW
        - timedelta(seconds=draw(seconds), microseconds=draw(st.integers(0, 999_999))),
    }


# Batches of events; after each batch, maybe a roll-up. Later batches may hold older times
# than earlier ones: events arriving late for slots already rolled up.
batches = st.lists(
    st.tuples(st.lists(an_event(), max_size=25), st.booleans()), min_size=1, max_size=5
)


@st.composite
def a_range(draw: st.DrawFn) -> tuple[datetime, datetime, str | None]:
    a, b = draw(seconds), draw(seconds)
    zone = draw(st.sampled_from(ZONES))
    since = (NOW - timedelta(seconds=max(a, b) + draw(st.integers(0, 3600)))).astimezone(zone)
    until = (NOW - timedelta(seconds=min(a, b)) + timedelta(seconds=1)).astimezone(zone)
    if draw(st.booleans()):  # whole local days, as the dashboard's dates in that zone
        since = since.replace(hour=0, minute=0, second=0, microsecond=0)
        until = until.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return since, until, draw(st.sampled_from([None, None, "MUG-01"]))


def summary(report: analytics.Report) -> list[tuple[Any, ...]]:
    rows = [*report.rows, report.totals]
    return sorted(
        (r.sku, r.source or "", r.campaign or "", r.content or "", r.impressions, r.clicks,
         r.checkouts, r.paid, r.failed, r.refunded, sorted(r.revenue.items()),
         sorted((k, v) for k, v in r.first_lines.items() if v))
        for r in rows
    )  # fmt: skip


def _empty(sessions: sessionmaker[Session]) -> None:
    with write_session(sessions) as session:
        for model in (AnalyticsEvent, AnalyticsTotal, AnalyticsKey):
            session.execute(delete(model))
        session.execute(update(RollupState).values(last_id=0, kept_from=0))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batches=batches, ranges=st.lists(a_range(), min_size=1, max_size=4))
def test_the_totals_report_is_the_raw_report(
    sessions: sessionmaker[Session],
    batches: list[tuple[list[dict[str, Any]], bool]],
    ranges: list[tuple[datetime, datetime, str | None]],
) -> None:
    _empty(sessions)
    for events, roll in batches:
        with write_session(sessions) as session:
            analytics.record(session, events)
        if roll:
            rollups.roll_up(sessions, batch=7)  # several transactions per roll-up
        for since, until, sku in ranges:
            rolled = analytics.report(sessions, since, until, sku=sku)
            raw = analytics.report(sessions, since, until, sku=sku, rolled=False)
            assert summary(rolled) == summary(raw), (since, until, sku)
    rollups.roll_up(sessions)
    for since, until, sku in ranges:
        rolled = analytics.report(sessions, since, until, sku=sku)
        raw = analytics.report(sessions, since, until, sku=sku, rolled=False)
        assert summary(rolled) == summary(raw), (since, until, sku)
