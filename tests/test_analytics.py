"""Funnel analytics: beacons, clicks, order events, attribution windows, reports."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server.db import write_session
from buybutton_server.db.models import AnalyticsEvent, Order, utcnow
from buybutton_server.domain import analytics
from buybutton_server.errors import InvalidInput
from tests.conftest import (
    BASE_URL,
    DECLINED_CARD,
    GOOD_CARD,
    SECRET,
    SHOPPER,
    add_product,
    attempt_key,
    path_of,
)


def flush(client: TestClient) -> None:
    client.app.state.analytics.flush(client.app.state.sessions)  # type: ignore[attr-defined]


def counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        rows = session.execute(
            select(AnalyticsEvent.kind, func.count()).group_by(AnalyticsEvent.kind)
        )
        return {kind: n for kind, n in rows}


def pay(client: TestClient, url: str, card: dict[str, str] = GOOD_CARD, **headers: str) -> None:
    page = client.get(path_of(url), headers=headers)
    client.post(
        path_of(url), data={"attempt": attempt_key(page.text), **SHOPPER, **card}, headers=headers
    )


def test_impression_beacons_count_signed_links_only(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions)
    blog = bb.checkout_link("MUG-01", source="blog", content="post-1")
    video = bb.checkout_link("MUG-01", source="youtube", content="vid-9")
    answer = client.post(
        "/api/public/events",
        content=f'{{"impressions": ["{blog}?return=x", "{video}"]}}',
        headers={"content-type": "text/plain;charset=UTF-8", "origin": "https://blog.example"},
    )
    assert answer.status_code == 204 and answer.headers["access-control-allow-origin"] == "*"
    flush(client)
    with sessions() as session:
        seen = session.execute(select(AnalyticsEvent.source, AnalyticsEvent.content)).all()
    assert sorted(seen) == [("blog", "post-1"), ("youtube", "vid-9")]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"impressions": []}',
        b'{"impressions": "x"}',
        b'{"impressions": ["https://shop.test/c/forged.token"]}',
        b'{"impressions": [42]}',
        b'{"clicks": ["x"]}',
        b'{"impressions": [' + b",".join([b'"x"'] * 51) + b"]}",
    ],
)
def test_bad_or_forged_beacons_write_nothing(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton, body: bytes
) -> None:
    add_product(sessions)
    answer = client.post("/api/public/events", content=body)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_beacon"
    # A forged link next to a genuine one spoils the whole batch.
    genuine = bb.checkout_link("MUG-01", source="blog")
    tampered = genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB")
    mixed = f'{{"impressions": ["{genuine}", "{tampered}"]}}'
    assert client.post("/api/public/events", content=mixed).status_code == 400
    flush(client)
    assert counts(sessions) == {}


def test_a_beacon_flood_from_one_client_is_rate_limited(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions)
    body = f'{{"impressions": ["{bb.checkout_link("MUG-01", source="blog")}"]}}'
    answers = [client.post("/api/public/events", content=body).status_code for _ in range(125)]
    assert answers[:120] == [204] * 120
    assert set(answers[120:]) == {429}
    flush(client)
    # One client, one link: one impression per window however many beacons it sends.
    assert counts(sessions) == {"impression": 1}


def test_clicks_checkouts_payments_and_refunds_are_counted(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    from buybutton_server.domain.orders import refund_order

    add_product(sessions, stock=10)
    paid_link = bb.checkout_link("MUG-01", source="instagram", content="reel-1")
    pay(client, paid_link)
    pay(client, bb.checkout_link("MUG-01", source="email"), DECLINED_CARD)
    client.get(path_of(bb.checkout_link("MUG-01", source="tiktok")))  # looked, left
    flush(client)
    assert counts(sessions) == {
        "click": 3,
        "checkout_started": 2,
        "payment_succeeded": 1,
        "payment_failed": 1,
    }
    with sessions() as session:
        order = session.scalar(select(Order).where(Order.status == "paid"))
        assert order is not None
    refund_order(sessions, client.app.state.payments, order.id, amount=400)  # type: ignore[attr-defined]
    result = analytics.report(sessions, utcnow() - timedelta(hours=1), utcnow() + timedelta(1))
    by_source = {row.source: row for row in result.rows}
    assert (by_source["instagram"].paid, by_source["instagram"].revenue) == (1, {"USD": 2000})
    assert by_source["instagram"].conversion == 1.0
    assert (by_source["email"].failed, by_source["email"].paid) == (1, 0)
    assert (by_source["tiktok"].clicks, by_source["tiktok"].checkouts) == (1, 0)
    assert result.totals.clicks == 3 and result.totals.revenue == {"USD": 2000}


def test_first_and_last_touch_are_both_kept(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions)
    first = client.get(path_of(bb.checkout_link("MUG-01", source="youtube", content="vid-1")))
    assert "bb_ft=" in first.headers["set-cookie"]
    cookie = first.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Partitioned" not in cookie
    pay(client, bb.checkout_link("MUG-01", source="instagram", content="story-2"))
    with sessions() as session:
        order = session.scalar(select(Order))
        assert order is not None
    assert (order.source, order.content) == ("instagram", "story-2"), "last touch"
    assert (order.first_source, order.first_content) == ("youtube", "vid-1"), "first touch"
    assert order.first_touch_at is not None


@pytest.mark.parametrize("header", [{"DNT": "1"}, {"Sec-GPC": "1"}])
def test_do_not_track_and_gpc_get_counts_only(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton, header: dict[str, str]
) -> None:
    add_product(sessions)
    page = client.get(path_of(bb.checkout_link("MUG-01", source="youtube")), headers=header)
    assert "bb_ft" not in page.headers.get("set-cookie", "")
    pay(client, bb.checkout_link("MUG-01", source="instagram"), **header)
    with sessions() as session:
        order = session.scalar(select(Order))
        assert order is not None
    assert order.source == "instagram" and order.first_source is None
    flush(client)
    assert counts(sessions)["click"] == 2, "counts still count"


def test_the_attribution_window_and_forged_cookies() -> None:
    from buybutton.tokens import CheckoutLink

    cookie = analytics.first_touch_cookie([SECRET], CheckoutLink(sku="A", source="blog"))
    assert analytics.read_first_touch([SECRET], cookie)["s"] == "blog"  # type: ignore[index]
    in_29_days = time.time() + 29 * 86400
    in_31_days = time.time() + 31 * 86400
    assert analytics.read_first_touch([SECRET], cookie, now=in_29_days) is not None
    assert analytics.read_first_touch([SECRET], cookie, now=in_31_days) is None
    assert analytics.read_first_touch(["another key" * 4], cookie) is None
    assert analytics.read_first_touch([SECRET], cookie[:-2] + "xx") is None
    assert analytics.read_first_touch([SECRET], None) is None


def test_reports_filter_by_date_and_export_csv(sessions: sessionmaker[Session]) -> None:
    old = utcnow() - timedelta(days=40)
    now = utcnow()
    rows = [
        {"kind": "click", "sku": "A", "source": "blog", "campaign": None, "content": "p1",
         "amount": None, "currency": None, "occurred_at": old},
        {"kind": "impression", "sku": "A", "source": "blog", "campaign": None, "content": "p1",
         "amount": None, "currency": None, "occurred_at": now},
        {"kind": "click", "sku": "A", "source": "blog", "campaign": None, "content": "p1",
         "amount": None, "currency": None, "occurred_at": now},
        {"kind": "payment_succeeded", "sku": "A", "source": "blog", "campaign": None,
         "content": "p1", "amount": 1650, "currency": "USD", "occurred_at": now},
    ]  # fmt: skip
    with write_session(sessions) as session:
        analytics.record(session, rows)
    since, until = analytics.parse_range(None, None)
    result = analytics.report(sessions, since, until)
    [row] = result.rows
    assert (row.impressions, row.clicks, row.paid, row.revenue) == (1, 1, 1, {"USD": 1650})
    assert row.click_rate == 1.0
    older = analytics.report(sessions, old - timedelta(days=1), old + timedelta(days=1))
    assert older.rows[0].clicks == 1 and older.rows[0].paid == 0
    csv_text = analytics.report_csv(result).splitlines()
    assert csv_text[0].startswith("sku,source,campaign,content,impressions,clicks")
    assert csv_text[1] == "A,blog,,p1,1,1,0,1,0,0,1.0000,1.0000,$16.50"
    with pytest.raises(InvalidInput, match="date"):
        analytics.parse_range("last tuesday", None)
    with pytest.raises(InvalidInput, match="before"):
        analytics.parse_range("2026-12-01", "2026-11-01")


def test_median_time_from_first_touch_to_payment(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions, stock=10)
    pay(client, bb.checkout_link("MUG-01", source="blog"))
    with write_session(sessions) as session:
        order = session.scalar(select(Order))
        assert order is not None and order.paid_at is not None
        order.first_touch_at = order.paid_at - timedelta(minutes=90)
    result = analytics.report(sessions, utcnow() - timedelta(days=1), utcnow() + timedelta(1))
    assert result.median_seconds_to_pay == pytest.approx(90 * 60, abs=1)


def test_stats_through_the_api_and_the_command(
    client: TestClient,
    sessions: sessionmaker[Session],
    bb: BuyButton,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings,  # type: ignore[no-untyped-def]
) -> None:
    from buybutton.cli import main
    from buybutton_server.domain.api_keys import create_key

    add_product(sessions, stock=10)
    pay(client, bb.checkout_link("MUG-01", source="instagram", content="reel-1"))
    with write_session(sessions) as session:
        key = create_key(session, "read")[1]
    stats = client.get("/api/v1/stats", headers={"Authorization": f"Bearer {key}"}).json()
    assert stats["totals"]["paid"] == 1 and stats["totals"]["clicks"] == 1
    assert stats["rows"][0]["source"] == "instagram"
    assert stats["rows"][0]["revenue"] == [{"currency": "USD", "amount": 2400}]
    bad = client.get("/api/v1/stats?since=soon", headers={"Authorization": f"Bearer {key}"})
    assert bad.status_code == 422
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)
    assert main(["stats"]) == 0
    out = capsys.readouterr().out
    assert "instagram" in out and "reel-1" in out and "$24.00" in out
    assert main(["stats", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("MUG-01,instagram,,reel-1,0,1,1,1")


def test_the_dashboard_needs_a_login_and_shows_the_funnel(
    settings,
    sessions: sessionmaker[Session],
    bb: BuyButton,  # type: ignore[no-untyped-def]
) -> None:
    from buybutton_server import create_app
    from buybutton_server.domain.admin_auth import create_admin

    add_product(sessions, stock=10)
    with write_session(sessions) as session:
        create_admin(session, "owner@shop.example", "correct horse battery")
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        assert client.get("/admin/dashboard", follow_redirects=False).status_code == 303
        assert client.get("/admin/dashboard.csv", follow_redirects=False).status_code == 303
        pay(client, bb.checkout_link("MUG-01", source="blog", content="post-1"))
        client.post(
            "/admin/login",
            data={"email": "owner@shop.example", "password": "correct horse battery"},
        )
        page = client.get("/admin/dashboard")
        assert page.status_code == 200
        assert '<strong id="kpi-paid">1</strong>' in page.text
        assert '<tr data-source="blog" data-content="post-1" data-sku="MUG-01">' in page.text
        assert "<svg" in page.text and "Paid 1" in page.text
        bad = client.get("/admin/dashboard?since=soon")
        assert bad.status_code == 400 and "must be a date like 2026-11-01" in bad.text
        exported = client.get("/admin/dashboard.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        assert "MUG-01,blog,,post-1" in exported.text


def test_a_bare_until_date_includes_that_whole_day() -> None:
    since, until = analytics.parse_range("2026-11-01", "2026-11-24")
    assert (since.isoformat(), until.isoformat()) == (
        "2026-11-01T00:00:00+00:00",
        "2026-11-25T00:00:00+00:00",
    )
