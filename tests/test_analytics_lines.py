"""A multi-item order records one analytics event per line (each product credited), but the
dashboard's totals count orders and visits: a three-product order is one click, one checkout
and one paid order, and its revenue is the order total."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import AnalyticsEvent, utcnow
from buybutton_server.domain import analytics
from buybutton_server.domain.admin_auth import create_admin
from tests.conftest import GOOD_CARD, SHOPPER, add_product, attempt_key, path_of

LOOK = [("MUG-01", 2), ("TEE-M", 1), ("CAP-01", 3)]  # 2 x 24.00 + 30.00 + 3 x 10.00


def test_a_three_line_order_counts_once_in_the_totals_and_per_line_in_the_rows(
    settings: Settings, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions, stock=10)
    add_product(sessions, sku="TEE-M", title="Linen tee", price="30.00", stock=10)
    add_product(sessions, sku="CAP-01", title="Cap", price="10.00", stock=10)
    with write_session(sessions) as session:
        create_admin(session, "owner@shop.example", "correct horse battery")
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        url = bb.checkout_link(items=LOOK, source="blog", campaign="look")
        page = client.get(path_of(url))
        paid = client.post(
            path_of(url), data={"attempt": attempt_key(page.text), **SHOPPER, **GOOD_CARD}
        )
        assert paid.status_code == 200 and "is paid" in paid.text, paid.text
        client.app.state.analytics.flush(client.app.state.sessions)  # type: ignore[attr-defined]

        result = analytics.report(sessions, utcnow() - timedelta(hours=1), utcnow())
        totals = result.totals
        assert (totals.clicks, totals.checkouts, totals.paid) == (1, 1, 1)
        assert totals.revenue == {"USD": 10800} and totals.conversion == 1.0
        # Each product's row still counts the order and its share of the money.
        rows = {row.sku: row for row in result.rows}
        assert {sku: (r.clicks, r.checkouts, r.paid) for sku, r in rows.items()} == {
            sku: (1, 1, 1) for sku, _ in LOOK
        }
        assert {sku: r.revenue["USD"] for sku, r in rows.items()} == {
            "MUG-01": 4800,
            "TEE-M": 3000,
            "CAP-01": 3000,
        }
        with sessions() as session:
            kinds = dict(
                session.execute(
                    select(AnalyticsEvent.kind, func.count()).group_by(AnalyticsEvent.kind)
                ).all()
            )
        assert kinds == {
            "click": 1,
            "click_line": 2,
            "checkout_started": 1,
            "checkout_started_line": 2,
            "payment_succeeded": 1,
            "payment_succeeded_line": 2,
        }

        client.post(
            "/admin/login",
            data={"email": "owner@shop.example", "password": "correct horse battery"},
        )
        dashboard = client.get("/admin/dashboard")
        assert dashboard.status_code == 200
        assert '<strong id="kpi-paid">1</strong>' in dashboard.text
        assert '<strong id="kpi-clicks">1</strong>' in dashboard.text
        assert '<strong id="kpi-revenue">$108.00</strong>' in dashboard.text
        assert "100.0%" in dashboard.text  # of clicks paid
        assert "counts once in the totals" in dashboard.text
