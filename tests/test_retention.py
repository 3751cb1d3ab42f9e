"""Retention (issue 11, item 6; issue 18): analytics events go after their period once the
report's running totals count them, and the reports do not change; old webhook events,
provider events and idempotency answers go; each period is a setting with a floor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from buybutton.errors import ConfigurationError
from buybutton_server import Settings
from buybutton_server.db import write_session
from buybutton_server.db.models import (
    AnalyticsEvent,
    ApiKey,
    DeliveryAttempt,
    IdempotencyRecord,
    ProcessedEvent,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from buybutton_server.domain import analytics, retention
from buybutton_server.settings_rules import Retention
from tests.conftest import SECRET

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def event(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "sku": "MUG-01", "source": "blog", "campaign": None, "content": "p1",
            "amount": None, "currency": None, "occurred_at": at, **fields}  # fmt: skip


def count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_old_events_go_once_counted_and_reports_do_not_change(
    sessions: sessionmaker[Session],
) -> None:
    old = NOW - timedelta(days=120)
    rows = [event("impression", old + timedelta(minutes=i)) for i in range(30)]
    rows += [event("click", old), event("click", old + timedelta(days=1), content=None)]
    rows += [event("payment_succeeded", old, amount=2400, currency="USD")]
    rows += [event("refunded", old, amount=400, currency="USD")]
    rows += [event("click", NOW - timedelta(days=2))]  # recent: stays raw
    with write_session(sessions) as session:
        analytics.record(session, rows)
    window = (old - timedelta(days=5), NOW)
    before = analytics.report(sessions, *window)

    done = retention.prune(sessions, Retention(), now=NOW)

    assert done.counts["analytics events rolled up"] == 34
    assert count(sessions, AnalyticsEvent) == 1
    after = analytics.report(sessions, *window)
    assert after.totals == before.totals
    assert after.totals.impressions == 30 and after.totals.revenue == {"USD": 2000}
    clicks = {r.content: r.clicks for r in after.rows}
    assert clicks == {None: 1, "p1": 2}
    # Running again changes nothing; a late event for a rolled-up day is added to its total.
    with write_session(sessions) as session:
        analytics.record(session, [event("impression", old + timedelta(hours=1))])
    retention.prune(sessions, Retention(), now=NOW)
    assert count(sessions, AnalyticsEvent) == 1
    assert analytics.report(sessions, *window).totals.impressions == 31


def test_events_the_totals_have_not_counted_stay(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The roll-up could not run (another process held the mark, or open inserts): old events
    wait for it instead of going uncounted."""
    old = NOW - timedelta(days=100)
    with write_session(sessions) as session:
        analytics.record(session, [event("click", old), event("click", old)])
    monkeypatch.setattr(retention.rollups, "roll_up", lambda sessions: 0)
    done = retention.prune(sessions, Retention(), now=NOW)
    assert count(sessions, AnalyticsEvent) == 2 and done.counts["analytics events rolled up"] == 0
    monkeypatch.undo()
    retention.prune(sessions, Retention(), now=NOW)
    assert count(sessions, AnalyticsEvent) == 0
    window = (old - timedelta(days=1), NOW)
    assert analytics.report(sessions, *window).totals.clicks == 2


def test_old_webhooks_provider_events_and_idempotency_answers_go(
    sessions: sessionmaker[Session],
) -> None:
    old, recent = NOW - timedelta(days=120), NOW - timedelta(days=1)
    with write_session(sessions) as session:
        endpoint = WebhookEndpoint(
            public_id="we_1", url="https://hooks.example/in", events="*", secret="whsec_x"
        )
        key = ApiKey(prefix="bb_write_test0001", key_hash="0" * 64, scope="write", name="t")
        session.add_all([endpoint, key])
        session.flush()
        for n, (at, status) in enumerate(
            [(old, "delivered"), (old, "failed"), (old, "pending"), (recent, "delivered")]
        ):
            ev = WebhookEvent(public_id=f"evt_{n}", type="order.paid", payload="{}", created_at=at)
            session.add(ev)
            session.flush()
            delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=ev.id, status=status)
            session.add(delivery)
            session.flush()
            session.add(DeliveryAttempt(delivery_id=delivery.id, attempted_at=at, duration_ms=5))
        for n, at in enumerate([old, recent]):
            session.add(
                ProcessedEvent(provider="stripe", event_id=f"evt_s{n}", type="x", received_at=at)
            )
            session.add(
                IdempotencyRecord(api_key_id=key.id, key=f"k{n}", request_hash="h",
                                  status_code=201, response_body="{}", created_at=at)
            )  # fmt: skip

    done = retention.prune(sessions, Retention(), now=NOW)

    assert str(done) == (
        "2 webhook events, 2 webhook deliveries, 2 webhook attempts, 1 provider events, "
        "1 idempotency records"
    )
    with sessions() as session:
        assert set(session.scalars(select(WebhookEvent.public_id))) == {"evt_2", "evt_3"}
        assert session.scalar(select(func.count()).select_from(DeliveryAttempt)) == 2
        assert list(session.scalars(select(ProcessedEvent.event_id))) == ["evt_s1"]
        assert list(session.scalars(select(IdempotencyRecord.key))) == ["k1"]


def test_the_periods_are_one_setting_with_floors() -> None:
    base = {"BUYBUTTON_SECRET_KEYS": SECRET}
    assert Settings.from_env(base).retention == Retention()
    chosen = Settings.from_env({**base, "BUYBUTTON_RETENTION_DAYS": "analytics=30, webhooks=14"})
    assert (chosen.retention.analytics, chosen.retention.webhooks) == (30, 14)
    assert chosen.retention.idempotency == Retention().idempotency
    assert chosen.as_environment()["BUYBUTTON_RETENTION_DAYS"].startswith("analytics=30,")
    with pytest.raises(ConfigurationError, match="must look like"):
        Settings.from_env({**base, "BUYBUTTON_RETENTION_DAYS": "forever"})
    with pytest.raises(ConfigurationError, match="provider_events at least 7"):
        Settings.from_env({**base, "BUYBUTTON_RETENTION_DAYS": "provider_events=1"})


def test_db_prune_runs_the_job(
    settings: Settings,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from buybutton.cli import main

    with write_session(sessions) as session:
        analytics.record(session, [event("click", datetime.now(UTC) - timedelta(days=400))])
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    assert main(["db", "prune"]) == 0
    out = capsys.readouterr().out
    assert "keeping raw analytics events (counted in the report totals): 90 days" in out
    assert "removed 1 analytics events rolled up" in out
    assert count(sessions, AnalyticsEvent) == 0


def test_the_daily_totals_table_is_gone(database_url: str) -> None:
    """``analytics_daily`` (daily totals of events past their raw period, before migration
    0031 folded them into the report's totals) is dropped by 0040: retention has nothing left
    to delete there. Its downgrade brings the table back, empty, with its index."""
    from alembic import command
    from sqlalchemy import inspect

    from buybutton_server.db import alembic_config, make_engine

    def tables() -> set[str]:
        engine = make_engine(database_url)
        try:
            return set(inspect(engine).get_table_names())
        finally:
            engine.dispose()

    assert "analytics_daily" not in tables() and "analytics_events" in tables()
    config = alembic_config(database_url)
    command.downgrade(config, "0039")
    engine = make_engine(database_url)
    indexes = [i["name"] for i in inspect(engine).get_indexes("analytics_daily")]
    with engine.connect() as connection:
        empty = connection.exec_driver_sql("SELECT count(*) FROM analytics_daily").scalar() == 0
    engine.dispose()
    assert indexes == ["ix_analytics_daily_report"] and empty
    command.upgrade(config, "head")
    assert "analytics_daily" not in tables()
