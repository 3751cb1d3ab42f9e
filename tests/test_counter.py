"""The store counter (issue 15, items 5 and 6): staff scoped to stores, ready with a pickup
code (email with a QR code, webhook), collected by the code (wrong codes refused and
rate-limited), paid in store, and the attacks: another store's order, a foreign CSRF token."""

from __future__ import annotations

import email
import json
import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import (
    AdminUser,
    MailMessage,
    Order,
    OrderLine,
    OrderPickup,
    WebhookEvent,
    utcnow,
)
from buybutton_server.domain import admin_auth, inventory, locations, mail
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from buybutton_server.services import counter as counter_service
from tests.conftest import SHOPPER, add_product, product

PASSWORD = "correct horse battery staple"
OWNER, CLERK_A, CLERK_B = "owner@shop.example", "a@shop.example", "b@shop.example"
Sessions = sessionmaker[Session]
Stores = dict[str, int]


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


def add_store(sessions: sessionmaker[Session], code: str, *, returns: bool = True) -> int:
    fields = {
        "name": f"Store {code}",
        "kind": "store",
        "ships": False,
        "pickup_enabled": True,
        "accepts_returns": returns,
    }
    with write_session(sessions) as session:
        return locations.create_location(session, code, fields).id


def add_login(sessions: sessionmaker[Session], who: str, role: str, stores: set[int]) -> None:
    with write_session(sessions) as session:
        made = create_admin(session, who, PASSWORD, role)
        admin_auth.set_locations(session, made.id, stores)


@pytest.fixture
def shop(settings: Settings, sessions: sessionmaker[Session]) -> dict[str, int]:
    add_product(sessions, stock=10)
    ids = {"A": add_store(sessions, "STORE-A"), "B": add_store(sessions, "STORE-B", returns=False)}
    add_login(sessions, OWNER, "owner", set())
    add_login(sessions, CLERK_A, "staff", {ids["A"]})
    add_login(sessions, CLERK_B, "staff", {ids["B"]})
    return ids


def browser(settings: Settings, who: str) -> TestClient:
    client = TestClient(create_app(settings), base_url="https://shop.test")
    client.__enter__()
    answer = client.post(
        "/admin/login", data={"email": who, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303
    return client


@pytest.fixture
def clerk_b(settings: Settings, shop: dict[str, int]) -> Iterator[TestClient]:
    client = browser(settings, CLERK_B)
    yield client
    client.__exit__(None, None, None)


@pytest.fixture
def clerk_a(settings: Settings, shop: dict[str, int]) -> Iterator[TestClient]:
    client = browser(settings, CLERK_A)
    yield client
    client.__exit__(None, None, None)


def place(sessions: sessionmaker[Session], location_id: int, *, method: str = "pickup") -> Order:
    """A paid pickup (or a reservation held at the store), written as checkout leaves it."""
    mug = product(sessions)
    tag = secrets.token_hex(4).upper()
    reserve = method == "reserve"
    with write_session(sessions) as session:
        inventory.restock(session, mug.id, 3, location_id=location_id)
        if reserve:
            assert inventory.reserve(session, mug.id, 1, location_id=location_id)
        order = Order(
            public_id=secrets.token_urlsafe(16),
            number=f"BB-{tag}",
            attempt_key=secrets.token_urlsafe(16),
            status="reserved" if reserve else "paid",
            currency="USD",
            total_amount=2400,
            subtotal_amount=2400,
            email=SHOPPER["email"],
            name=SHOPPER["name"],
            payment_provider="test",
            payment_method="card",
            payment_reference=None if reserve else f"test_pi_{tag}",
            paid_at=None if reserve else utcnow(),
            reserved_until=utcnow() + timedelta(hours=4) if reserve else None,
            fulfilment_method=method,
            pickup_location_id=location_id,
            lines=[
                OrderLine(
                    product_id=mug.id, sku="MUG-01", title=mug.title, unit_amount=2400,
                    quantity=1, total_amount=2400, location_id=location_id,
                )
            ],
        )  # fmt: skip
        session.add(order)
    with sessions() as session:
        found = session.scalar(select(Order).where(Order.number == f"BB-{tag}"))
        assert found is not None
        return found


def csrf(client: TestClient, page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get(page).text)
    assert found is not None
    return found[1]


def act(client: TestClient, store: str, number: str, action: str, **more: str) -> Response:
    token = csrf(client, f"/store/{store}")
    return client.post(
        f"/store/{store}/orders/{number}",
        data={"csrf": token, "action": action, **more},
        follow_redirects=False,
    )


def pickup_of(sessions: sessionmaker[Session], order_id: int) -> OrderPickup | None:
    with sessions() as session:
        return session.get(OrderPickup, order_id)


def events(sessions: sessionmaker[Session], kind: str) -> list[dict]:  # type: ignore[type-arg]
    with sessions() as session:
        rows = session.scalars(select(WebhookEvent.payload).where(WebhookEvent.type == kind))
        return [json.loads(row)["data"] for row in rows]


def code_sent(sessions: sessionmaker[Session], number: str) -> str:
    with sessions() as session:
        rows = session.scalars(
            select(MailMessage.data)
            .where(MailMessage.kind == "pickup_ready")
            .order_by(MailMessage.id.desc())
        )
        for data in rows:
            loaded = json.loads(data)
            if loaded["number"] == number:
                return str(loaded["code"])
    raise AssertionError("no pickup email")


# -- scope ------------------------------------------------------------------------------------


def test_a_clerk_sees_only_their_store(
    clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    at_a, at_b = place(sessions, shop["A"]), place(sessions, shop["B"])
    home = clerk_b.get("/store", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/store/STORE-B"
    page = clerk_b.get("/store/STORE-B")
    assert page.status_code == 200 and at_b.number in page.text and at_a.number not in page.text
    assert "Paid, not ready yet" in page.text
    assert clerk_b.get("/store/STORE-A").status_code == 404
    assert clerk_b.get(f"/store/STORE-B/order?number={at_a.number}").status_code == 404


def test_a_clerk_limited_to_a_store_cannot_read_orders_through_the_admin(
    clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    at_a = place(sessions, shop["A"])
    for path in ("/admin/orders", f"/admin/orders/{at_a.number}", "/admin/dashboard",
                 "/admin/returns", "/admin/products"):  # fmt: skip
        answer = clerk_b.get(path)
        assert answer.status_code == 403, path
        assert at_a.number not in answer.text and "store counter" in answer.text


def test_another_stores_order_is_refused_and_nothing_changes(
    clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    at_a = place(sessions, shop["A"])
    token = csrf(clerk_b, "/store/STORE-B")
    for store in ("STORE-A", "STORE-B"):
        for action in ("ready", "paid", "collect"):
            answer = clerk_b.post(
                f"/store/{store}/orders/{at_a.number}",
                data={"csrf": token, "action": action, "code": "123456"},
            )
            assert answer.status_code == 404, (store, action)
    assert pickup_of(sessions, at_a.id) is None
    assert events(sessions, "order.ready_for_pickup") == []


def test_owners_and_unlimited_staff_choose_among_every_store(
    settings: Settings, sessions: Sessions, shop: Stores
) -> None:
    add_login(sessions, "free@shop.example", "staff", set())
    for who in (OWNER, "free@shop.example"):
        client = browser(settings, who)
        page = client.get("/store")
        assert page.status_code == 200
        assert "Store STORE-A" in page.text and "Store STORE-B" in page.text
        client.__exit__(None, None, None)


def test_the_owner_limits_a_login_to_stores(
    settings: Settings, sessions: Sessions, shop: Stores
) -> None:
    client = browser(settings, OWNER)
    with sessions() as session:
        clerk = session.scalar(select(AdminUser.id).where(AdminUser.email == CLERK_A))
    token = csrf(client, "/admin/staff")
    answer = client.post(
        f"/admin/staff/{clerk}",
        data={"csrf": token, "action": "locations", "location": ["STORE-A", "STORE-B"]},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    with sessions() as session:
        assert admin_auth.limited_to(session, clerk or 0) == {shop["A"], shop["B"]}
    assert "at STORE-A, STORE-B" in client.get("/admin/staff").text
    bad = client.post(
        f"/admin/staff/{clerk}", data={"csrf": token, "action": "locations", "location": "NOPE"}
    )
    assert bad.status_code == 422 and "no location" in bad.text
    foreign = client.post(f"/admin/staff/{clerk}", data={"csrf": "0" * 64, "action": "locations"})
    assert foreign.status_code in (400, 403)
    with sessions() as session:
        assert admin_auth.limited_to(session, clerk or 0) == {shop["A"], shop["B"]}
    client.__exit__(None, None, None)


# -- ready and collected ------------------------------------------------------------------------


def test_ready_then_collected_with_the_code(
    clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    order = place(sessions, shop["B"])
    assert act(clerk_b, "STORE-B", order.number, "ready").status_code == 303
    pickup = pickup_of(sessions, order.id)
    assert pickup is not None and pickup.ready_at is not None and pickup.collected_at is None
    code = code_sent(sessions, order.number)
    assert re.fullmatch(r"\d{6}", code) and code not in pickup.code_hash
    [ready] = events(sessions, "order.ready_for_pickup")
    assert ready["location"]["code"] == "STORE-B" and ready["order"]["number"] == order.number
    assert "Ready since" in clerk_b.get("/store/STORE-B").text
    # Twice "ready" is refused (a new code is a separate action).
    assert act(clerk_b, "STORE-B", order.number, "ready").status_code == 409

    wrong = "000000" if code != "000000" else "111111"
    refused = act(clerk_b, "STORE-B", order.number, "collect", code=wrong)
    assert refused.status_code == 422 and "not the code" in refused.text
    after = pickup_of(sessions, order.id)
    assert after is not None and after.attempts == 1 and after.collected_at is None

    spaced = f"{code[:3]} {code[3:]}"
    assert act(clerk_b, "STORE-B", order.number, "collect", code=spaced).status_code == 303
    done = pickup_of(sessions, order.id)
    assert done is not None and done.collected_at is not None
    with sessions() as session:
        assert session.get_one(Order, order.id).fulfilled_at is not None
    [collected] = events(sessions, "order.collected")
    assert collected["location"]["code"] == "STORE-B"
    assert collected["order"]["fulfilled_at"] is not None
    with sessions() as session:
        kinds = set(session.scalars(select(MailMessage.kind)))
    assert {"pickup_ready", "pickup_collected"} <= kinds
    assert order.number not in clerk_b.get("/store/STORE-B").text  # off the list
    assert act(clerk_b, "STORE-B", order.number, "collect", code=code).status_code == 409


def test_an_order_is_not_collectable_before_it_is_ready(
    clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    order = place(sessions, shop["B"])
    answer = act(clerk_b, "STORE-B", order.number, "collect", code="123456")
    assert answer.status_code == 409 and "not marked ready" in answer.text
    assert pickup_of(sessions, order.id) is None


def test_wrong_codes_lock_the_order_until_a_new_code(
    clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    order = place(sessions, shop["B"])
    act(clerk_b, "STORE-B", order.number, "ready")
    code = code_sent(sessions, order.number)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert act(clerk_b, "STORE-B", order.number, "collect", code=wrong).status_code == 422
    locked = act(clerk_b, "STORE-B", order.number, "collect", code=code)
    assert locked.status_code == 409 and "Too many wrong codes" in locked.text
    assert act(clerk_b, "STORE-B", order.number, "new_code").status_code == 303
    fresh = code_sent(sessions, order.number)
    if fresh != code:  # the old code stops working
        assert act(clerk_b, "STORE-B", order.number, "collect", code=code).status_code == 422
    assert act(clerk_b, "STORE-B", order.number, "collect", code=fresh).status_code == 303


def test_code_checks_are_rate_limited_per_login(
    clerk_b: TestClient, sessions: Sessions, shop: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counter_service, "PER_LOGIN", 3)
    orders = [place(sessions, shop["B"]) for _ in range(3)]
    for order in orders:
        act(clerk_b, "STORE-B", order.number, "ready")
    for order in orders:
        answer = act(clerk_b, "STORE-B", order.number, "collect", code="999999")
        assert answer.status_code in (422, 303)
    right = code_sent(sessions, orders[0].number)
    limited = act(clerk_b, "STORE-B", orders[0].number, "collect", code=right)
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert pickup_of(sessions, orders[0].id).collected_at is None  # type: ignore[union-attr]


def test_a_code_for_another_stores_order_is_refused(
    clerk_a: TestClient, clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    order = place(sessions, shop["B"])
    act(clerk_b, "STORE-B", order.number, "ready")
    code = code_sent(sessions, order.number)
    for store in ("STORE-A", "STORE-B"):
        answer = clerk_a.post(
            f"/store/{store}/orders/{order.number}",
            data={"csrf": csrf(clerk_a, "/store/STORE-A"), "action": "collect", "code": code},
        )
        assert answer.status_code == 404
    scanned = clerk_a.get(f"/store/collect?order={order.number}&code={code}")
    assert scanned.status_code == 404 and "not one of your store" in scanned.text
    assert pickup_of(sessions, order.id).collected_at is None  # type: ignore[union-attr]


def test_the_qr_code_opens_the_collect_form_for_that_stores_staff(
    clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    order = place(sessions, shop["B"])
    act(clerk_b, "STORE-B", order.number, "ready")
    code = code_sent(sessions, order.number)
    page = clerk_b.get(f"/store/collect?order={order.number}&code={code}")
    assert page.status_code == 200 and f'value="{code}"' in page.text
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert token is not None
    answer = clerk_b.post(
        f"/store/STORE-B/orders/{order.number}",
        data={"csrf": token[1], "action": "collect", "code": code},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def test_a_foreign_csrf_token_is_refused(
    clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    order = place(sessions, shop["B"])
    answer = clerk_b.post(
        f"/store/STORE-B/orders/{order.number}", data={"csrf": "0" * 64, "action": "ready"}
    )
    assert answer.status_code in (400, 403)
    assert pickup_of(sessions, order.id) is None


def test_signed_out_visitors_go_to_the_sign_in_page(settings: Settings, shop: Stores) -> None:
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        answer = client.get("/store/STORE-B", follow_redirects=False)
        assert answer.status_code == 303 and "/admin/login" in answer.headers["location"]


def test_the_pickup_email_has_the_code_and_a_qr_code_then_keeps_neither(
    clerk_b: TestClient, settings: Settings, sessions: Sessions, shop: Stores, tmp_path: Path
) -> None:
    order = place(sessions, shop["B"])
    act(clerk_b, "STORE-B", order.number, "ready")
    code = code_sent(sessions, order.number)
    folder = tmp_path / "mail"
    mail.send_due(sessions, mail.FolderTransport(folder), settings)
    sent = [email.message_from_bytes(p.read_bytes()) for p in folder.glob("*.eml")]
    [ready] = [m for m in sent if "ready to collect" in str(m["Subject"])]
    parts = {part.get_content_type(): part for part in ready.walk()}
    assert "image/png" in parts
    assert parts["image/png"].get_payload(decode=True)[:8] == b"\x89PNG\r\n\x1a\n"
    text = parts["text/plain"].get_payload(decode=True).decode()
    assert f"{code[:3]} {code[3:]}" in text
    assert "cid:pickup-qr@buybutton" in parts["text/html"].get_payload(decode=True).decode()
    with sessions() as session:
        row = session.scalar(select(MailMessage).where(MailMessage.kind == "pickup_ready"))
        assert row is not None and row.status == "sent"
        assert code not in (row.text_body or "") + (row.html_body or "") + row.data


# -- paid in store ------------------------------------------------------------------------------


def test_a_reservation_is_paid_in_store_then_collected(
    clerk_b: TestClient, sessions: Sessions, shop: Stores
) -> None:
    order = place(sessions, shop["B"], method="reserve")
    page = clerk_b.get("/store/STORE-B").text
    assert order.number in page and "Reserved, not paid" in page
    assert act(clerk_b, "STORE-B", order.number, "ready").status_code == 303
    code = code_sent(sessions, order.number)
    unpaid = act(clerk_b, "STORE-B", order.number, "collect", code=code)
    assert unpaid.status_code == 409 and "not paid" in unpaid.text
    assert act(clerk_b, "STORE-B", order.number, "paid").status_code == 303
    with sessions() as session:
        paid = session.get_one(Order, order.id)
        assert paid.status == "paid" and paid.paid_in_store_by == CLERK_B
    assert act(clerk_b, "STORE-B", order.number, "collect", code=code).status_code == 303
    with sessions() as session:
        assert inventory.level_of(session, product(sessions).id, shop["B"]) == (2, 0)
