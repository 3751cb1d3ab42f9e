"""Returns (issue 14, item 4): the shopper asks from the order page's link; the merchant
approves, marks received and refunds (with or without restock) from the admin, the API or the
command line; webhooks in the outbox; partial returns, "already returned", the window, races,
and the guards (CSRF, staff, another order's line, unknown ids)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.cli import main
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import Order, Refund, Return, WebhookEvent, utcnow
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from buybutton_server.domain.api_keys import create_key
from buybutton_server.errors import Conflict
from buybutton_server.services import returns as service
from tests.conftest import add_product, product
from tests.order_helpers import paid_order

PASSWORD = "correct horse battery staple"
LOOK = [("MUG-01", 2), ("TEE-M", 1)]


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def shop(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    add_product(sessions, stock=10)
    add_product(sessions, sku="TEE-M", title="Linen tee", price="30.00", stock=10)
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        yield client


def buy(client: TestClient, bb: BuyButton) -> Order:
    """A paid order of 2 mugs (24.00 each) and a tee (30.00), as settlement leaves it
    (written directly: these tests are about what happens after the payment; the stock
    stays at 10 each, so a restock shows as 11)."""
    return paid_order(client.app.state.sessions, LOOK)  # type: ignore[attr-defined]


def form_key(html: str) -> str:
    match = re.search(r'name="key" value="([^"]+)"', html)
    assert match, "no form key"
    return match[1]


def ask(client: TestClient, order: Order, quantities: dict[str, int], **extra: str) -> object:
    """Post the shopper's return form, quantities by sku."""
    page = client.get(f"/orders/{order.public_id}/return")
    assert page.status_code == 200, page.text
    data = {"key": form_key(page.text), "reason": "wrong_size", "note": "Too small", **extra}
    for line in order.lines:
        data[f"qty-{line.id}"] = str(quantities.get(line.sku, 0))
    return client.post(f"/orders/{order.public_id}/return", data=data, follow_redirects=False)


def sign_in(client: TestClient, sessions: sessionmaker[Session], role: str = "owner") -> None:
    email = f"{role}@shop.example"
    with write_session(sessions) as session:
        create_admin(session, email, PASSWORD, role=role)
    answer = client.post(
        "/admin/login", data={"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match[1]


def events(sessions: sessionmaker[Session], kind: str) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(WebhookEvent.payload).where(WebhookEvent.type == kind)))


def the_returns(sessions: sessionmaker[Session]) -> list[Return]:
    with sessions() as session:
        return list(session.scalars(select(Return).order_by(Return.id)))


# -- the whole way, from the shopper to the refund ---------------------------------------------


def test_request_approve_receive_refund_with_restock_from_the_admin(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    order = buy(shop, bb)
    page = shop.get(f"/orders/{order.public_id}").text
    assert f'href="/orders/{order.public_id}/return"' in page  # the way in, on the order page
    answer = ask(shop, order, {"MUG-01": 1})
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert "return-sent" in shop.get(answer.headers["location"]).text  # type: ignore[attr-defined]
    [ret] = the_returns(sessions)
    assert (ret.status, ret.reason, ret.note) == ("requested", "wrong_size", "Too small")
    [requested] = events(sessions, "return.requested")
    assert '"return":{"id":' in requested and '"sku":"MUG-01"' in requested

    sign_in(shop, sessions, role="staff")  # staff may handle returns
    listing = shop.get("/admin/returns?status=requested")
    assert listing.status_code == 200 and f'data-return="{ret.id}"' in listing.text
    detail = shop.get(f"/admin/returns/{ret.id}").text
    token = csrf_of(detail)
    for verb, status in (("approve", "approved"), ("receive", "received")):
        moved = shop.post(
            f"/admin/returns/{ret.id}/{verb}", data={"csrf": token}, follow_redirects=False
        )
        assert moved.status_code == 303, moved.text
        assert the_returns(sessions)[0].status == status
    assert len(events(sessions, "return.received")) == 1
    detail = shop.get(f"/admin/returns/{ret.id}").text
    # One mug's share of what was paid: 24.00 (shipping is not refunded by default).
    assert 'id="return-amount" value="24.00"' in detail
    refunded = shop.post(
        f"/admin/returns/{ret.id}/refund",
        data={"csrf": token, "amount": "24.00", "restock": "1"},
        follow_redirects=False,
    )
    assert refunded.status_code == 303, refunded.text
    [ret] = the_returns(sessions)
    assert (ret.status, ret.refund_amount, ret.restocked) == ("refunded", 2400, True)
    assert product(sessions).on_hand == 11  # the mug is back on the shelf
    assert product(sessions, "TEE-M").on_hand == 10  # the tee was not returned
    with sessions() as session:
        paid = session.get(Order, order.id)
        assert paid is not None and (paid.status, paid.refunded_amount) == ("paid", 2400)
    assert len(events(sessions, "order.refunded")) == 1
    # Refunding again is refused with a message; nothing more is refunded.
    again = shop.post(f"/admin/returns/{ret.id}/refund", data={"csrf": token, "amount": "24.00"})
    assert again.status_code == 409 and "is refunded" in again.text
    with sessions() as session:
        assert len(list(session.scalars(select(Refund)))) == 1


def test_refund_without_restock_leaves_the_stock_and_partial_returns_add_up(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    order = buy(shop, bb)
    path = f"/orders/{order.public_id}/return"
    stale = form_key(shop.get(path).text)  # a second tab, opened before the first return
    assert ask(shop, order, {"MUG-01": 1}).status_code == 303  # type: ignore[attr-defined]
    mug = order.lines[0].id
    refused = shop.post(path, data={"key": stale, "reason": "other", f"qty-{mug}": "2"})
    assert refused.status_code == 409
    assert "1 of 2 already returned or asked back; at most 1 more" in refused.text
    assert ask(shop, order, {"MUG-01": 1, "TEE-M": 1}).status_code == 303  # type: ignore[attr-defined]
    # Everything is asked back now: the page says so and offers no form.
    page = shop.get(path).text
    assert 'id="returns-closed"' in page and "asked back already" in page
    assert len(the_returns(sessions)) == 2
    first, second = (r.id for r in the_returns(sessions))
    payments = shop.app.state.payments  # type: ignore[attr-defined]
    for return_id in (first, second):
        service.approve(sessions, return_id)
        service.receive(sessions, return_id)
    done = service.refund(sessions, payments, second, restock=False)
    assert done.refund is not None and done.refund.amount == 2400 + 3000
    assert product(sessions).on_hand == 10 and product(sessions, "TEE-M").on_hand == 10
    done = service.refund(sessions, payments, first)
    assert done.refund is not None and done.refund.amount == 2400
    assert product(sessions).on_hand == 11


def test_returns_close_after_the_window_and_for_unpaid_orders(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    order = buy(shop, bb)
    with write_session(sessions) as session:
        session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(fulfilled_at=utcnow() - timedelta(days=31))
        )
    page = shop.get(f"/orders/{order.public_id}/return").text
    assert 'id="returns-closed"' in page and "closed on" in page
    with pytest.raises(Conflict, match="closed on"):
        service.create_for_order(
            sessions,
            order.number,
            service.ReturnCreate(
                lines=[service.ReturnItem(sku="MUG-01", quantity=1)], reason="other"
            ),
            30,
        )
    with write_session(sessions) as session:
        session.execute(update(Order).where(Order.id == order.id).values(status="failed"))
    assert "once the order is paid" in shop.get(f"/orders/{order.public_id}/return").text
    assert the_returns(sessions) == []


def test_another_orders_line_and_unknown_orders_are_refused(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    mine, other = buy(shop, bb), buy(shop, bb)
    page = shop.get(f"/orders/{mine.public_id}/return").text
    data = {"key": form_key(page), "reason": "other", f"qty-{other.lines[0].id}": "1"}
    answer = shop.post(f"/orders/{mine.public_id}/return", data=data)
    assert answer.status_code == 404
    assert shop.get("/orders/not-an-order/return").status_code == 404
    assert the_returns(sessions) == []


def test_a_form_posted_twice_makes_one_return_and_cross_site_posts_are_refused(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    order = buy(shop, bb)
    page = shop.get(f"/orders/{order.public_id}/return").text
    data = {"key": form_key(page), "reason": "damaged", f"qty-{order.lines[0].id}": "1"}
    path = f"/orders/{order.public_id}/return"
    foreign = shop.post(path, data=data, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and the_returns(sessions) == []
    for _ in range(2):
        assert shop.post(path, data=data, follow_redirects=False).status_code == 303
    assert len(the_returns(sessions)) == 1


# -- races -------------------------------------------------------------------------------------


def test_two_clerks_at_once_one_wins(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    order = buy(shop, bb)
    ask(shop, order, {"MUG-01": 2})
    [ret] = the_returns(sessions)
    outcomes: list[str] = []
    lock = threading.Lock()

    def approve() -> None:
        try:
            service.approve(sessions, ret.id)
            result = "ok"
        except Conflict as refused:
            result = refused.message
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=approve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1
    assert all("cannot be approved again" in o for o in outcomes if o != "ok")
    assert len(events(sessions, "return.approved")) == 1
    service.receive(sessions, ret.id)
    payments = shop.app.state.payments  # type: ignore[attr-defined]
    refunds: list[str] = []

    def refund() -> None:
        try:
            service.refund(sessions, payments, ret.id)
            result = "ok"
        except Conflict as refused:
            result = refused.message
        with lock:
            refunds.append(result)

    threads = [threading.Thread(target=refund) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refunds.count("ok") == 1, refunds
    with sessions() as session:
        assert [r.amount for r in session.scalars(select(Refund))] == [4800]
    assert product(sessions).on_hand == 12  # restocked once


# -- the admin's guards ------------------------------------------------------------------------


def test_admin_action_with_a_foreign_csrf_token_is_refused(
    shop: TestClient, bb: BuyButton, sessions: sessionmaker[Session], settings: Settings
) -> None:
    order = buy(shop, bb)
    ask(shop, order, {"TEE-M": 1})
    [ret] = the_returns(sessions)
    with TestClient(create_app(settings), base_url="https://shop.test") as other:
        sign_in(other, sessions, role="owner")
        foreign = csrf_of(other.get(f"/admin/returns/{ret.id}").text)
    sign_in(shop, sessions, role="staff")
    answer = shop.post(f"/admin/returns/{ret.id}/approve", data={"csrf": foreign})
    assert answer.status_code in (400, 403)
    assert the_returns(sessions)[0].status == "requested"
    assert shop.get("/admin/returns/99999").status_code == 404
    assert shop.get("/admin/returns?status=lost").status_code == 422


# -- API and command line ----------------------------------------------------------------------


def test_api_and_cli(
    shop: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    order = buy(shop, bb)
    with write_session(sessions) as session:
        key = create_key(session, "write", "test")[1]
    auth = {"Authorization": f"Bearer {key}"}
    made = shop.post(
        f"/api/v1/orders/{order.number}/returns",
        json={"lines": [{"sku": "TEE-M", "quantity": 1}], "reason": "damaged"},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["status"] == "requested" and body["lines"][0]["sku"] == "TEE-M"
    too_many = shop.post(
        f"/api/v1/orders/{order.number}/returns",
        json={"lines": [{"sku": "TEE-M", "quantity": 1}], "reason": "damaged"},
        headers=auth,
    )
    assert too_many.status_code == 409 and too_many.json()["error"]["code"] == "already_returned"
    listed = shop.get("/api/v1/returns?status=requested", headers=auth).json()
    assert [r["id"] for r in listed["data"]] == [body["id"]]
    assert shop.get(f"/api/v1/orders/{order.number}/returns", headers=auth).json()["data"]
    rid = body["id"]
    assert shop.post(f"/api/v1/returns/{rid}/approve", headers=auth).json()["status"] == "approved"
    twice = shop.post(f"/api/v1/returns/{rid}/approve", headers=auth)
    assert twice.status_code == 409
    assert shop.get("/api/v1/returns/abc", headers=auth).status_code == 404

    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)
    assert main(["returns", "list", "--status", "approved"]) == 0
    assert f"{order.number}" in capsys.readouterr().out
    assert main(["returns", "receive", str(rid)]) == 0
    assert main(["returns", "refund", str(rid), "--no-restock"]) == 0
    assert "refunded 30.00 USD" in capsys.readouterr().out
    assert product(sessions, "TEE-M").on_hand == 10
    assert main(["returns", "approve", str(rid)]) == 2
    assert "is refunded" in capsys.readouterr().err
    assert len(events(sessions, "return.received")) == 1
