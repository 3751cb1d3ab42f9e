"""``buybutton orders``: list, refund, sweep, with the built-in test provider."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.cli import main
from buybutton_server.db import write_session
from buybutton_server.db.models import Order, utcnow
from tests.conftest import GOOD_CARD, SHOPPER, add_product, attempt_key, orders, path_of, product


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)


def buy(client: TestClient, bb: BuyButton, quantity: int = 1) -> Order:
    path = path_of(bb.checkout_link("MUG-01", source="youtube", quantity=quantity))
    client.cookies.delete("bb_bought")  # buying through the same link again (item 8)
    client.post(
        path,
        data={
            "attempt": attempt_key(client.get(path).text),
            "quantity": str(quantity),
            **SHOPPER,
            **GOOD_CARD,
        },
    )
    return orders(client.app.state.sessions)[-1]  # type: ignore[attr-defined]


def test_refund_partially_then_fully(
    env: None,
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_product(sessions, price="24.00", stock=5)
    order = buy(client, bb, quantity=2)
    assert main(["orders", "refund", order.number, "--amount", "10.00"]) == 0
    assert f"{order.number} paid: refunded $10.00 of $48.00" in capsys.readouterr().out
    assert product(sessions).on_hand == 3
    assert main(["orders", "refund", order.number.lower()]) == 0
    assert f"{order.number} refunded: refunded $48.00 of $48.00" in capsys.readouterr().out
    assert product(sessions).on_hand == 5
    assert main(["orders", "refund", order.number]) == 1
    assert "is refunded, not paid" in capsys.readouterr().err


def test_refund_refuses_more_than_was_paid(
    env: None,
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_product(sessions, price="24.00")
    order = buy(client, bb)
    assert main(["orders", "refund", order.number, "--amount", "24.01"]) == 1
    assert "must be between $0.01 and $24.00" in capsys.readouterr().err
    assert main(["orders", "refund", order.number, "--amount", "ten"]) == 1
    assert "major units" in capsys.readouterr().err
    assert main(["orders", "refund", "BB-NOPE"]) == 1
    assert "no order BB-NOPE" in capsys.readouterr().err
    assert orders(sessions)[0].refunded_amount == 0


def test_full_refund_without_restock(
    env: None, client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, stock=5)
    order = buy(client, bb)
    assert main(["orders", "refund", order.number, "--no-restock"]) == 0
    assert product(sessions).on_hand == 4


def test_list_shows_orders_and_attention(
    env: None,
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_product(sessions, price="24.00")
    order = buy(client, bb)
    newer = buy(client, bb, quantity=2)
    assert main(["orders", "list"]) == 0
    header, first, second = capsys.readouterr().out.strip().splitlines()
    assert header.split() == ["number", "date", "(UTC)", "status", "total", "source", "email"]
    assert first.startswith(newer.number) and "$48.00" in first, "newest first, as the API"
    assert second.startswith(order.number) and "paid" in second and "$24.00" in second
    assert f"{order.created_at:%Y-%m-%d %H:%M}" in second
    assert "ana@example.com" in second and "youtube" in second
    assert header.index("total") < header.index("source") < header.index("email")
    assert main(["orders", "list", "--attention"]) == 0
    out = capsys.readouterr()
    assert out.out == "" and "no orders to look at" in out.err


def test_sweep_releases_expired_holds(
    env: None, bb: BuyButton, sessions: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    from buybutton.tokens import CheckoutLink
    from buybutton_server.domain.orders import Shopper, place_order

    add_product(sessions, stock=2)
    place_order(
        sessions,
        link=CheckoutLink(sku="MUG-01"),
        quantity=2,
        shopper=Shopper(email="a@b.co", name="A"),
        attempt_key="k" * 20,
        provider="test",
        method="card",
        hold_for=timedelta(minutes=15),
    )
    assert product(sessions).reserved == 2  # a crash left it pending
    assert main(["orders", "sweep"]) == 0
    assert capsys.readouterr().out.strip() == "0 orders settled"
    with write_session(sessions) as session:
        session.execute(update(Order).values(reserved_until=utcnow() - timedelta(seconds=1)))
    assert main(["orders", "sweep"]) == 0
    assert capsys.readouterr().out.strip() == "1 orders settled"
    assert orders(sessions)[0].status == "canceled"
    assert (product(sessions).on_hand, product(sessions).reserved) == (2, 0)


def test_the_running_server_sweeps_by_itself(settings, sessions: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    import time
    from dataclasses import replace

    from buybutton.tokens import CheckoutLink
    from buybutton_server import create_app
    from buybutton_server.domain.orders import Shopper, place_order

    add_product(sessions, stock=1)
    place_order(
        sessions,
        link=CheckoutLink(sku="MUG-01"),
        quantity=1,
        shopper=Shopper(email="a@b.co", name="A"),
        attempt_key="s" * 20,
        provider="test",
        method="card",
        hold_for=timedelta(seconds=-1),
    )
    with TestClient(create_app(replace(settings, sweep_seconds=0.05))):
        deadline = time.monotonic() + 10
        while product(sessions).reserved and time.monotonic() < deadline:
            time.sleep(0.05)
    assert product(sessions).reserved == 0
    assert orders(sessions)[0].status == "canceled"


def test_stats_prints_whole_campaign_names(
    env: None,
    client: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    add_product(sessions, price="24.00")
    campaign, content = "black-friday-2026-newsletter-vip", "email-2026-11-27-morning-edition"
    path = path_of(
        bb.checkout_link("MUG-01", source="newsletter", campaign=campaign, content=content)
    )
    client.post(path, data={"attempt": attempt_key(client.get(path).text), **SHOPPER, **GOOD_CARD})
    client.app.state.analytics.flush(sessions)  # type: ignore[attr-defined]
    assert main(["stats"]) == 0
    header, row, totals = capsys.readouterr().out.splitlines()[1:4]
    assert campaign in row and content in row and "$24.00" in row
    # The columns line up under their headings, however long the names are.
    assert row.index(campaign) == header.index("campaign")
    assert row.index(content) == header.index("content")
    assert header.index("revenue") == row.index("$24.00") == totals.index("$24.00")


def test_the_demo_tells_each_paid_order_once_without_personal_data(
    client: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    from buybutton_server.services.orders import PaidOrderWatch

    add_product(sessions, price="24.00", stock=5)
    before = buy(client, bb)
    watch = PaidOrderWatch(sessions, utcnow())
    assert watch.news() == [], "orders paid before the demo started are not told"
    first, second = buy(client, bb), buy(client, bb, quantity=2)
    assert watch.news() == [
        f"order {first.number} paid: $24.00",
        f"order {second.number} paid: $48.00",
    ]
    assert watch.news() == []
    third = buy(client, bb)
    lines = watch.news()
    assert lines == [f"order {third.number} paid: $24.00"]
    assert before.number not in " ".join(lines) and "@" not in " ".join(lines)
