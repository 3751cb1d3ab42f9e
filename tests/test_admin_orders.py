"""The admin's orders pages: search, an order's page, refunds in major units (once per form),
fulfilment with tracking, and the usual guards (sign-in, CSRF, 404, escaping)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import MailMessage, Order, Refund, WebhookEvent
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from buybutton_server.domain.api_keys import create_key
from buybutton_server.errors import PaymentUnavailable
from tests.conftest import DECLINED_CARD, GOOD_CARD, SHOPPER, add_product, attempt_key, path_of

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


@pytest.fixture
def https_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="https://shop.test") as client:
        yield client


def sign_in(client: TestClient, sessions: sessionmaker[Session], role: str = "owner") -> None:
    email = f"{role}@shop.example"
    with write_session(sessions) as session:
        create_admin(session, email, PASSWORD, role=role)
    answer = client.post(
        "/admin/login", data={"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303


@pytest.fixture
def admin(https_client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    add_product(sessions, stock=50)
    sign_in(https_client, sessions)
    return https_client


def buy(
    client: TestClient,
    bb: BuyButton,
    *,
    email: str = "ana@example.com",
    source: str | None = None,
    quantity: int = 1,
    card: dict[str, str] = GOOD_CARD,
    name: str = "Ana Lima",
) -> str:
    """Pay (or fail to pay) through the checkout; the new order's number."""
    path = path_of(bb.checkout_link("MUG-01", source=source, quantity=quantity))
    client.cookies.delete("bb_bought")  # buying through the same link again (item 8)
    page = client.get(path)
    data = {**SHOPPER, "email": email, "name": name, **card, "quantity": str(quantity)}
    client.post(path, data={"attempt": attempt_key(page.text), **data})
    with client.app.state.sessions() as session:  # type: ignore[attr-defined]
        number = session.scalar(select(Order.number).order_by(Order.id.desc()).limit(1))
    assert number is not None
    return number


def listed(page: str) -> set[str]:
    return set(re.findall(r'<tr data-number="([^"]+)"', page))


def field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*? value="([^"]*)"', page)
    assert found is not None, name
    return found[1]


def the_order(sessions: sessionmaker[Session], number: str) -> Order:
    with sessions() as session:
        order = session.scalar(select(Order).where(Order.number == number))
        assert order is not None
        return order


def refund_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Refund)) or 0


def events(sessions: sessionmaker[Session], kind: str) -> list[dict]:
    with sessions() as session:
        rows = session.scalars(
            select(WebhookEvent.payload).where(WebhookEvent.type == kind).order_by(WebhookEvent.id)
        )
        return [json.loads(payload)["data"]["order"] for payload in rows]


def mails(sessions: sessionmaker[Session], kind: str) -> list[dict]:
    with sessions() as session:
        rows = session.scalars(
            select(MailMessage.data).where(MailMessage.kind == kind).order_by(MailMessage.id)
        )
        return [json.loads(data) for data in rows]


def test_search_by_email_number_status_and_source_finds_exactly_those(
    admin: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    ana = buy(admin, bb, email="ana@example.com", source="instagram")
    bob = buy(admin, bb, email="Bob@Example.com", source="newsletter")
    cara = buy(admin, bb, email="cara@shop.test", source="instagram")
    failed = buy(admin, bb, email="dan@example.com", source="Instagram", card=DECLINED_CARD)
    assert the_order(sessions, failed).status == "failed"

    everything = admin.get("/admin/orders")
    assert everything.status_code == 200
    assert listed(everything.text) == {ana, bob, cara, failed}
    order = re.findall(r'<tr data-number="([^"]+)"', everything.text)
    assert order == [failed, cara, bob, ana], "newest first"

    def found(**query: str) -> set[str]:
        answer = admin.get("/admin/orders", params=query)
        assert answer.status_code == 200
        return listed(answer.text)

    assert found(email="EXAMPLE.com") == {ana, bob, failed}
    assert found(email="ana@example.com") == {ana}
    assert found(email="bob@example.com") == {bob}
    assert found(email="%") == set(), "LIKE wildcards are plain characters"
    assert found(number=cara) == {cara}
    assert found(number=cara.lower()) == {cara}
    assert found(number=cara[-5:]) == {cara}
    assert found(status="failed") == {failed}
    assert found(status="paid") == {ana, bob, cara}
    assert found(source="instagram") == {ana, cara}
    assert found(source="instagram", email="cara") == {cara}
    assert found(source="tiktok") == set()
    bad = admin.get("/admin/orders", params={"status": "lost"})
    assert bad.status_code == 422 and "Status must be one of" in bad.text


def test_the_list_shows_its_columns_and_pages_by_fifty(
    admin: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    first = buy(admin, bb, email="first@example.com", source="youtube", quantity=2)
    page = admin.get("/admin/orders").text
    for label in ("Number", "Date", "Customer email", "Status", "Total", "Source"):
        assert '<th scope="col"' in page and f">{label}</th>" in page
    assert "first@example.com" in page and "$48.00" in page and "youtube" in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    # 60 more orders, straight into the table (the checkout is tested elsewhere).
    template = the_order(sessions, first)
    with write_session(sessions) as session:
        for n in range(60):
            session.add(
                Order(
                    public_id=f"pub{n:029d}",
                    number=f"BB-T{n:07d}",
                    attempt_key=f"attempt-{n}",
                    status="paid",
                    currency="USD",
                    total_amount=100,
                    subtotal_amount=100,  # the parts add up (CHECK totals_add_up)
                    refunded_amount=0,
                    email=f"bulk{n}@example.com",
                    name="Bulk",
                    payment_provider="test",
                    created_at=template.created_at,
                )
            )
    one = admin.get("/admin/orders")
    shown = re.findall(r'<tr data-number="([^"]+)"', one.text)
    assert len(shown) == 50 and shown[0] == "BB-T0000059"
    older = re.search(r'href="(/admin/orders\?before=\d+)"[^>]*>Older orders', one.text)
    assert older is not None
    two = admin.get(older[1].replace("&amp;", "&"))
    rest = re.findall(r'<tr data-number="([^"]+)"', two.text)
    assert len(rest) == 11 and rest[-1] == first and not set(rest) & set(shown)
    assert "Older orders" not in two.text and "Newest orders" in two.text
    # The filters go along to the next page.
    filtered = admin.get("/admin/orders", params={"email": "bulk"})
    link = re.search(r'href="(/admin/orders\?[^"]*before=\d+)"', filtered.text)
    assert link is not None and "email=bulk" in link[1]


def test_an_orders_page_shows_lines_totals_payment_and_attribution(
    admin: TestClient, bb: BuyButton
) -> None:
    number = buy(admin, bb, source="instagram", quantity=2)
    page = admin.get(f"/admin/orders/{number}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    for expected in (
        number,
        "paid",
        "Ana Lima",
        "ana@example.com",
        "12 Harbour Street",
        "Porto",
        "MUG-01",
        "Stoneware Mug",
        "$24.00",  # unit
        "$48.00",  # line total and total
        "$0.00",  # refunded so far
        "instagram",
        "test",  # provider
        "test_",  # the provider's reference
    ):
        assert expected in text, expected
    assert field(text, "amount") == "48.00", "prefilled with what can be refunded"
    assert 'name="csrf"' in text and 'id="refund-reason"' in text and 'id="fulfil-carrier"' in text


def test_a_part_refund_in_major_units_is_recorded_once_per_form(
    admin: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    number = buy(admin, bb)
    page = admin.get(f"/admin/orders/{number}").text
    form = {
        "csrf": field(page, "csrf"),
        "once": field(page, "once"),
        "amount": "5.00",
        "reason": "damaged",
    }
    answer = admin.post(f"/admin/orders/{number}/refund", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/admin/orders/{number}?notice=refunded"
    assert the_order(sessions, number).refunded_amount == 500
    again = admin.post(f"/admin/orders/{number}/refund", data=form, follow_redirects=False)
    assert again.status_code == 303, "a double submit is answered, not refused"
    order = the_order(sessions, number)
    assert (order.refunded_amount, order.status) == (500, "paid")
    assert refund_count(sessions) == 1
    shown = admin.get(answer.headers["location"]).text
    assert "The refund went through." in shown
    assert "$5.00" in shown and "Damaged or lost in transit" in shown
    assert field(shown, "amount") == "19.00"
    assert field(shown, "once") != form["once"], "each render gets its own token"
    # The rest, with a new form: the order is refunded, and another post of it is fine too.
    rest = {**form, "once": field(shown, "once"), "amount": "19.00", "restock": "1"}
    assert admin.post(f"/admin/orders/{number}/refund", data=rest).status_code == 200
    assert admin.post(f"/admin/orders/{number}/refund", data=rest).status_code == 200
    order = the_order(sessions, number)
    assert (order.refunded_amount, order.status) == (2400, "refunded")
    assert refund_count(sessions) == 2
    assert len(events(sessions, "order.refunded")) == 2


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("24.01", "between $0.01 and $24.00"),
        ("0", "between $0.01 and $24.00"),
        ("five", "give it in USD"),
        ("5.001", "more decimals than USD allows"),
        ("", "Enter the amount"),
    ],
)
def test_a_refund_that_cannot_be_is_explained_and_nothing_is_written(
    admin: TestClient, bb: BuyButton, sessions: sessionmaker[Session], amount: str, message: str
) -> None:
    number = buy(admin, bb)
    page = admin.get(f"/admin/orders/{number}").text
    form = {"csrf": field(page, "csrf"), "once": field(page, "once"), "amount": amount}
    answer = admin.post(f"/admin/orders/{number}/refund", data={**form, "reason": "duplicate"})
    assert answer.status_code == 422
    assert message in answer.text
    assert field(answer.text, "amount") == amount, "the form keeps what was typed"
    assert the_order(sessions, number).refunded_amount == 0
    assert refund_count(sessions) == 0


def test_unpaid_orders_and_provider_failures_refund_nothing(
    admin: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failed = buy(admin, bb, card=DECLINED_CARD)
    page = admin.get(f"/admin/orders/{failed}").text
    assert 'id="refund-amount"' not in page and 'id="fulfil-carrier"' not in page
    form = {"csrf": field(page, "csrf"), "once": "x" * 32, "amount": "1.00", "reason": "duplicate"}
    refused = admin.post(f"/admin/orders/{failed}/refund", data=form)
    assert refused.status_code == 422 and "not paid" in refused.text

    number = buy(admin, bb)

    def unreachable(*args: object, **kwargs: object) -> None:
        raise PaymentUnavailable()

    monkeypatch.setattr(admin.app.state.payments, "refund", unreachable)  # type: ignore[attr-defined]
    page = admin.get(f"/admin/orders/{number}").text
    form = {"csrf": field(page, "csrf"), "once": field(page, "once"), "amount": "2.00"}
    down = admin.post(f"/admin/orders/{number}/refund", data={**form, "reason": "duplicate"})
    assert down.status_code == 422 and 'role="alert"' in down.text
    assert the_order(sessions, number).refunded_amount == 0
    assert refund_count(sessions) == 0


def test_fulfilling_with_tracking_shows_in_the_api_and_the_webhook(
    admin: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    number = buy(admin, bb)
    page = admin.get(f"/admin/orders/{number}").text
    form = {"csrf": field(page, "csrf"), "carrier": "dhl", "tracking_number": "JD014 600"}
    answer = admin.post(f"/admin/orders/{number}/fulfil", data=form, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("notice=fulfilled")
    order = the_order(sessions, number)
    assert order.fulfilled_at is not None
    url = "https://www.dhl.com/global-en/home/tracking.html?tracking-id=JD014600"
    assert (order.carrier, order.tracking_number, order.tracking_url) == ("DHL", "JD014 600", url)
    shown = admin.get(f"/admin/orders/{number}").text
    assert "JD014 600" in shown and f'href="{url}"' in shown and "Change the tracking" in shown

    with write_session(sessions) as session:
        key = create_key(session, "read", "test")[1]
    api = admin.get(f"/api/v1/orders/{number}", headers={"Authorization": f"Bearer {key}"})
    tracking = {"carrier": "DHL", "number": "JD014 600", "url": url}
    assert api.json()["tracking"] == tracking
    [sent] = events(sessions, "order.fulfilled")
    assert sent["tracking"] == tracking and sent["fulfilled_at"]
    [shipped] = mails(sessions, "shipped")
    assert shipped["number"] == number and shipped["carrier"] == "DHL"

    # The same again changes nothing; a new number is saved and announced again.
    admin.post(f"/admin/orders/{number}/fulfil", data=form)
    assert len(events(sessions, "order.fulfilled")) == 1
    other = {**form, "carrier": "other", "other_carrier": "Bike courier", "tracking_number": "7"}
    other["tracking_url"] = "https://courier.example/t/7"
    other["update"] = "1"
    changed = admin.post(f"/admin/orders/{number}/fulfil", data=other, follow_redirects=False)
    assert changed.headers["location"].endswith("notice=tracking")
    updates = events(sessions, "order.fulfilled")
    assert len(updates) == 2
    assert updates[1]["tracking"] == {
        "carrier": "Bike courier",
        "number": "7",
        "url": "https://courier.example/t/7",
    }
    assert updates[1]["fulfilled_at"] == updates[0]["fulfilled_at"]
    assert [m["carrier"] for m in mails(sessions, "shipped")] == ["DHL", "Bike courier"]


def test_the_receipt_can_be_sent_again(
    admin: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    number = buy(admin, bb)
    before = len(mails(sessions, "receipt"))
    page = admin.get(f"/admin/orders/{number}").text
    answer = admin.post(
        f"/admin/orders/{number}/receipt",
        data={"csrf": field(page, "csrf")},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("notice=receipt")
    assert len(mails(sessions, "receipt")) == before + 1
    assert "on its way to the customer again" in admin.get(answer.headers["location"]).text
    failed = buy(admin, bb, card=DECLINED_CARD)
    assert "Resend the receipt" not in admin.get(f"/admin/orders/{failed}").text
    refused = admin.post(f"/admin/orders/{failed}/receipt", data={"csrf": field(page, "csrf")})
    assert refused.status_code == 422 and "not paid" in refused.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"carrier": "other", "tracking_number": "1"}, "Name the carrier"),
        ({"carrier": "ups", "tracking_url": "http://ups.example/1"}, "https://"),
        ({"carrier": "pigeon"}, "Choose a carrier"),
        ({"carrier": "ups", "tracking_number": "1Z<script>"}, "letters, digits"),
        ({"carrier": "ups", "tracking_number": "1" * 129}, "longer than 128"),
    ],
)
def test_bad_tracking_is_explained_and_nothing_is_written(
    admin: TestClient,
    bb: BuyButton,
    sessions: sessionmaker[Session],
    fields: dict[str, str],
    message: str,
) -> None:
    number = buy(admin, bb)
    page = admin.get(f"/admin/orders/{number}").text
    answer = admin.post(
        f"/admin/orders/{number}/fulfil", data={"csrf": field(page, "csrf"), **fields}
    )
    assert answer.status_code == 422 and message in answer.text
    assert the_order(sessions, number).fulfilled_at is None
    assert events(sessions, "order.fulfilled") == []


def test_missing_or_foreign_csrf_is_refused_and_nothing_is_written(
    admin: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    number = buy(admin, bb)
    page = admin.get(f"/admin/orders/{number}").text
    refund = {"once": field(page, "once"), "amount": "5.00", "reason": "duplicate"}
    fulfil = {"carrier": "ups", "tracking_number": "1Z999"}
    for csrf in ({}, {"csrf": "0" * 64}):
        assert (
            admin.post(f"/admin/orders/{number}/refund", data={**refund, **csrf}).status_code == 400
        )
        assert (
            admin.post(f"/admin/orders/{number}/fulfil", data={**fulfil, **csrf}).status_code == 400
        )
        assert admin.post(f"/admin/orders/{number}/receipt", data=csrf).status_code == 400
    order = the_order(sessions, number)
    assert (order.refunded_amount, order.fulfilled_at, order.carrier) == (0, None, None)
    assert refund_count(sessions) == 0


def test_signed_out_visitors_are_sent_to_sign_in(
    https_client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions)
    number = buy(https_client, bb)
    for path in ("/admin/orders", f"/admin/orders/{number}"):
        answer = https_client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/admin/login?next=")
    posted = https_client.post(
        f"/admin/orders/{number}/refund", data={"amount": "1.00"}, follow_redirects=False
    )
    assert posted.status_code == 303 and posted.headers["location"].startswith("/admin/login")
    assert the_order(sessions, number).refunded_amount == 0


def test_an_unknown_order_is_a_404_page(admin: TestClient) -> None:
    answer = admin.get("/admin/orders/BB-NOPE0000")
    assert answer.status_code == 404 and "No such order" in answer.text
    assert 'aria-label="Admin"' in answer.text, "the admin's page, with its navigation"
    page = admin.get("/admin/orders").text
    form = {"csrf": field(page, "csrf"), "carrier": "ups"}
    assert admin.post("/admin/orders/BB-NOPE0000/fulfil", data=form).status_code == 404


def test_staff_can_work_on_orders(
    https_client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions)
    number = buy(https_client, bb)
    sign_in(https_client, sessions, role="staff")
    page = https_client.get(f"/admin/orders/{number}")
    assert page.status_code == 200
    form = {"csrf": field(page.text, "csrf"), "carrier": "usps", "tracking_number": "9400"}
    assert https_client.post(f"/admin/orders/{number}/fulfil", data=form).status_code == 200
    assert the_order(sessions, number).carrier == "USPS"


def test_what_shoppers_and_merchants_typed_is_escaped(
    admin: TestClient, bb: BuyButton, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, sku="MUG-01", title="<script>alert('title')</script>")
    number = buy(admin, bb, name="<script>alert('name')</script>")
    page = admin.get(f"/admin/orders/{number}").text
    carrier = {"carrier": "other", "other_carrier": "<script>alert('carrier')</script>"}
    admin.post(f"/admin/orders/{number}/fulfil", data={"csrf": field(page, "csrf"), **carrier})
    assert the_order(sessions, number).carrier == carrier["other_carrier"]
    for path in (f"/admin/orders/{number}", "/admin/orders"):
        assert "<script>alert(" not in admin.get(path).text
    detail = admin.get(f"/admin/orders/{number}").text
    for who in ("name", "title", "carrier"):
        assert f"&lt;script&gt;alert(&#39;{who}&#39;)&lt;/script&gt;" in detail
