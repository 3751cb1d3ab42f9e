"""Totals everywhere (issue 13, item 10; issue 14, item 6's first touch): an order's
subtotal, discount, shipping, tax and total, per order and per line, on the shopper's order
page, the admin's order page, the API, the webhook payloads, the SDK and the CLI; and the
shop's tax settings on /admin/settings (owner only)."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import resources as sdk
from buybutton.cli import main
from buybutton.tokens import CheckoutLink
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import (
    DiscountCode,
    Order,
    ShippingRate,
    ShippingZone,
    ShippingZoneArea,
    ShopProfile,
    WebhookEvent,
)
from buybutton_server.domain import admin_auth
from buybutton_server.domain.admin_auth import ScryptCost, create_admin
from buybutton_server.domain.api_keys import create_key
from buybutton_server.domain.orders import Choice, Shopper, place_order
from buybutton_server.domain.settlement import settle_order
from buybutton_server.payments.base import ChargeRequest, ChargeResult
from buybutton_server.payments.test_provider import TestPaymentProvider
from buybutton_server.services import checkout
from tests.conftest import add_product

PASSWORD = "correct horse battery staple"
BERLIN = Shopper(
    email="ana@example.com",
    name="Ana Lima",
    line1="Unter den Linden 1",
    city="Berlin",
    postal_code="10117",
    country="DE",
)
FIRST_TOUCH = {"s": "tiktok", "c": "spring", "n": "video-7", "t": 1_767_225_600}  # 2026-01-01


class RecordingProvider(TestPaymentProvider):
    """The test provider, remembering what it was asked to charge."""

    __test__ = False

    def __init__(self) -> None:
        self.charged: list[ChargeRequest] = []

    def charge(self, request: ChargeRequest) -> ChargeResult:
        self.charged.append(request)
        return super().charge(request)


def tax_settings(
    sessions: sessionmaker[Session], *, country: str = "DE", inclusive: bool = True
) -> None:
    with write_session(sessions) as session:
        row = session.get(ShopProfile, 1)
        if row is None:
            row = ShopProfile(id=1, name="Pour Over Goods")
            session.add(row)
        row.country, row.prices_include_tax, row.collect_tax = country, inclusive, True


def zone(
    session: Session, name: str, areas: Sequence[str], rate: str, amount: int, **extra: Any
) -> None:
    """A zone (areas ``DE`` or ``US/CA``) with one rate."""
    found = ShippingZone(name=name, position=0)
    for area in areas:
        country, _, region = area.partition("/")
        found.areas.append(ShippingZoneArea(country=country, region=region, postal_prefix=""))
    found.rates.append(
        ShippingRate(name=rate, currency="EUR", active=True, delivery_estimate="", **extra)
    )
    found.rates[0].amount = amount
    session.add(found)


def code(session: Session, name: str, **fields: Any) -> None:
    session.add(DiscountCode(code=name, title=name, scope="all", active=True, **fields))


@pytest.fixture
def german_shop(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sells from Germany with VAT in the prices; a mug (standard), coffee (reduced 7 %),
    DHL at 4.90 to Germany, WELCOME10 for 10 % off."""
    add_product(sessions, sku="MUG-01", price="24.00", currency="EUR", stock=20)
    add_product(
        sessions, sku="BEANS", title="Coffee beans", price="12.50", currency="EUR", stock=20,
        tax_class="reduced",
    )  # fmt: skip
    tax_settings(sessions)
    with write_session(sessions) as session:
        zone(session, "Germany", ["DE"], "DHL Paket", 490, kind="flat")
        code(session, "WELCOME10", kind="percent", percent_bp=1000)
    return sessions


LOOK = (("MUG-01", 2), ("BEANS", 1))


def place_and_pay(
    sessions: sessionmaker[Session],
    items: Sequence[tuple[str, int]] = LOOK,
    *,
    shopper: Shopper = BERLIN,
    codes: Sequence[str] = ("welcome10",),
    provider: RecordingProvider | None = None,
    first_touch: dict[str, Any] | None = FIRST_TOUCH,
) -> Order:
    """Place the order as the checkout does (``place_order`` prices it in its transaction)
    and charge what it stored through the test provider, as ``services.checkout.pay`` does."""
    provider = provider or RecordingProvider()
    link = CheckoutLink(
        sku=items[0][0],
        quantity=items[0][1],
        items=tuple(items) if len(items) > 1 else None,
        source="instagram",
        campaign="look-12",
    )
    order, created = place_order(
        sessions,
        link=link,
        quantity=items[0][1],
        shopper=shopper,
        attempt_key=secrets.token_urlsafe(18),
        provider=provider.name,
        method="card",
        hold_for=timedelta(minutes=15),
        first_touch=first_touch,
        choice=Choice(codes=tuple(codes)),
    )
    assert created
    result = provider.charge(
        ChargeRequest(
            amount=order.total_amount,
            currency=order.currency,
            idempotency_key=order.attempt_key,
            method="card",
            details={
                "card_number": "4242424242424242",
                "card_expiry": "12 / 34",
                "card_cvc": "123",
            },
        )
    )
    return settle_order(sessions, order.id, result)


def webhook_order(sessions: sessionmaker[Session], kind: str, number: str) -> dict[str, Any]:
    with sessions() as session:
        payloads = session.scalars(
            select(WebhookEvent.payload).where(WebhookEvent.type == kind).order_by(WebhookEvent.id)
        ).all()
    found = [json.loads(p)["data"]["order"] for p in payloads]
    return next(o for o in reversed(found) if o["number"] == number)


def api_client(client: TestClient, sessions: sessionmaker[Session]) -> TestClient:
    with write_session(sessions) as session:
        _, secret = create_key(session, "read")
    client.headers["Authorization"] = f"Bearer {secret}"
    return client


# The German order: 2 x 24.00 + 12.50 = 60.50; WELCOME10 takes 4.80 and 1.25 (6.05);
# DHL 4.90; VAT inside: mug 43.20 at 19 % = 6.90, beans 11.25 at 7 % = 0.74, shipping at
# the standard rate 4.90 -> 0.78 (docs/tax.md: shipping follows the goods' main rate).
def expected_german(order: Order) -> None:
    assert order.currency == "EUR" and order.tax_included
    assert (order.subtotal_amount, order.discount_amount, order.shipping_amount) == (6050, 605, 490)
    assert order.total_amount == 6050 - 605 + 490
    lines = {line.sku: line for line in order.lines}
    assert (lines["MUG-01"].discount_amount, lines["BEANS"].discount_amount) == (480, 125)
    assert (lines["MUG-01"].tax_rate_bp, lines["BEANS"].tax_rate_bp) == (1900, 700)
    assert order.tax_amount >= lines["MUG-01"].tax_amount + lines["BEANS"].tax_amount > 0


# -- the API and the webhooks ------------------------------------------------------------------


def test_the_api_and_the_order_paid_webhook_carry_every_part(
    german_shop: sessionmaker[Session], client: TestClient
) -> None:
    provider = RecordingProvider()
    order = place_and_pay(german_shop, provider=provider)
    assert order.status == "paid"
    with german_shop() as session:
        order = session.scalars(select(Order).where(Order.id == order.id)).one()
        order.lines  # noqa: B018 (loaded for the checks below)
        expected_german(order)
    assert [c.amount for c in provider.charged] == [order.total_amount]

    api = api_client(client, german_shop)
    answer = api.get(f"/api/v1/orders/{order.number}")
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    listed = api.get("/api/v1/orders").json()["data"]
    assert listed[0] == shown
    hook = webhook_order(german_shop, "order.paid", order.number)
    created = webhook_order(german_shop, "order.created", order.number)
    assert hook == {**shown, "paid_at": hook["paid_at"]} and hook["paid_at"]
    assert created["total"] == shown["total"] and created["status"] == "pending"

    def euros(amount: int) -> dict[str, Any]:
        return {"amount": amount, "currency": "EUR", "decimal": f"{amount / 100:.2f}"}

    assert shown["subtotal"] == euros(6050)
    assert shown["discount"] == euros(605)
    assert shown["shipping_cost"] == euros(490)
    assert shown["tax"] == euros(order.tax_amount)
    assert shown["total"] == euros(5935)
    assert shown["tax_included"] is True
    assert shown["shipping_option"].startswith("rate-")
    assert shown["shipping_title"] == "DHL Paket"
    assert shown["discount_codes"] == ["WELCOME10"]
    assert shown["shipping"]["country"] == "DE" and shown["shipping"]["region"] is None
    lines = shown["lines"]
    assert [line["sku"] for line in lines] == ["MUG-01", "BEANS"]
    assert lines[0] == {
        "sku": "MUG-01",
        "title": "Stoneware Mug",
        "quantity": 2,
        "unit_amount": 2400,
        "subtotal_amount": 4800,
        "discount_amount": 480,
        "tax_amount": lines[0]["tax_amount"],
        "tax_rate_bp": 1900,
        "total_amount": 4320,
        "shipped_quantity": 0,
    }
    assert lines[0]["tax_amount"] == 690  # 43.20 - 43.20 / 1.19
    assert lines[1]["tax_rate_bp"] == 700 and lines[1]["total_amount"] == 1125
    # The parts add up, per line and per order; shipping's tax is the rest of the tax.
    assert sum(line["subtotal_amount"] for line in lines) == shown["subtotal"]["amount"]
    assert sum(line["discount_amount"] for line in lines) == shown["discount"]["amount"]
    line_tax = sum(line["tax_amount"] for line in lines)
    assert line_tax + shown["shipping_tax"]["amount"] == shown["tax"]["amount"]
    assert shown["shipping_tax"]["amount"] == 78  # 4.90 - 4.90 / 1.19
    assert sum(line["total_amount"] for line in lines) + 490 == shown["total"]["amount"]
    # First touch (issue 14, item 6) beside the last touch.
    assert shown["attribution"] == {
        "source": "instagram",
        "campaign": "look-12",
        "content": None,
        "first_touch": {
            "source": "tiktok",
            "campaign": "spring",
            "content": "video-7",
            "at": "2026-01-01T00:00:00Z",
        },
    }


def test_tax_added_on_top_in_california_and_no_first_touch(
    sessions: sessionmaker[Session], client: TestClient
) -> None:
    add_product(sessions, sku="MUG-01", price="24.00", currency="EUR", stock=20)
    tax_settings(sessions, country="US", inclusive=False)
    with write_session(sessions) as session:
        zone(session, "US West", ["US/CA"], "UPS Ground", 600, kind="flat")
    shopper = Shopper(
        email="bo@example.com",
        name="Bo Chen",
        line1="1 Market Street",
        city="San Francisco",
        postal_code="94105",
        country="US",
        region="CA",
    )
    order = place_and_pay(sessions, (("MUG-01", 1),), shopper=shopper, codes=(), first_touch=None)
    shown = api_client(client, sessions).get(f"/api/v1/orders/{order.number}").json()
    assert shown["tax_included"] is False and shown["discount_codes"] == []
    assert shown["tax"]["amount"] == 174  # 24.00 x 7.25 %
    assert shown["total"]["amount"] == 2400 + 600 + 174 == order.total_amount
    assert shown["lines"][0]["total_amount"] == 2400 + 174
    assert shown["shipping"]["region"] == "CA"
    assert shown["attribution"]["first_touch"] is None
    hook = webhook_order(sessions, "order.paid", order.number)
    assert hook["tax"] == shown["tax"] and hook["total"] == shown["total"]


def test_the_openapi_document_declares_the_parts(client: TestClient) -> None:
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    order, line = schemas["Order"], schemas["OrderLine"]
    parts = {"subtotal", "discount", "shipping_cost", "tax", "shipping_tax", "total"}
    assert parts | {"tax_included", "shipping_option", "shipping_title", "discount_codes"} <= set(
        order["required"]
    )
    assert {"subtotal_amount", "discount_amount", "tax_amount", "tax_rate_bp"} <= set(
        line["required"]
    )
    assert "first_touch" in schemas["Attribution"]["required"]


# -- the SDK -----------------------------------------------------------------------------------


def test_the_sdk_reads_the_parts_and_still_reads_old_payloads(
    german_shop: sessionmaker[Session], client: TestClient
) -> None:
    order = place_and_pay(german_shop)
    shown = api_client(client, german_shop).get(f"/api/v1/orders/{order.number}").json()
    parsed = sdk.Order.from_json(shown)
    assert (parsed.subtotal_amount, parsed.discount_amount, parsed.shipping_amount) == (
        6050,
        605,
        490,
    )
    assert parsed.tax_amount == order.tax_amount and parsed.tax_included
    assert parsed.shipping_tax_amount == 78
    assert parsed.total_amount == 5935
    assert parsed.discount_codes == ("WELCOME10",)
    assert parsed.shipping_title == "DHL Paket"
    assert (parsed.first_source, parsed.first_campaign, parsed.first_content) == (
        "tiktok",
        "spring",
        "video-7",
    )
    assert parsed.first_touch_at == "2026-01-01T00:00:00Z"
    assert parsed.lines[0] == sdk.OrderLine(
        sku="MUG-01",
        title="Stoneware Mug",
        quantity=2,
        unit_amount=2400,
        total_amount=4320,
        subtotal_amount=4800,
        discount_amount=480,
        tax_amount=690,
        tax_rate_bp=1900,
    )
    # A payload from before the parts (and a line with a key from a newer server) parses.
    old = {
        key: value
        for key, value in shown.items()
        if key not in {"subtotal", "discount", "shipping_cost", "tax", "shipping_tax"}
        and key not in {"tax_included", "shipping_option", "shipping_title", "discount_codes"}
    }
    old["attribution"] = {"source": "x", "campaign": None, "content": None}
    old["lines"] = [
        {k: shown["lines"][0][k] for k in ("sku", "title", "quantity", "unit_amount")}
        | {"total_amount": 4320, "from_the_future": 1}
    ]
    before = sdk.Order.from_json(old)
    assert before.total_amount == 5935 and before.subtotal_amount == 0
    assert before.first_source is None and before.discount_codes == ()
    assert before.lines[0].total_amount == 4320 and before.lines[0].tax_rate_bp == 0


# -- the shopper's order page ------------------------------------------------------------------


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_order_page_shows_the_parts_inclusive(
    german_shop: sessionmaker[Session], client: TestClient
) -> None:
    order = place_and_pay(german_shop)
    page = client.get(f"/orders/{order.public_id}")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "2 \u00d7 Stoneware Mug €48.00" in shown
    assert "Discount on Stoneware Mug \u2212€4.80" in shown
    assert "Subtotal €60.50" in shown
    assert "Discount (WELCOME10) \u2212€6.05" in shown
    assert "Shipping (DHL Paket) €4.90" in shown
    assert "Total €59.35" in shown
    # VAT is inside the total: shown after it, named as included.
    assert re.search(r"Total €59\.35 incl\. VAT €\d+\.\d\d", shown), shown
    assert "10117 Berlin, Germany" in shown
    # The tax line in the page's language, as the checkout named it.
    german = text_of(
        client.get(f"/orders/{order.public_id}", headers={"Accept-Language": "de"}).text
    )
    assert "Gesamt 59,35 € inkl. MwSt. 8,42 €" in german, german


def test_the_order_page_shows_tax_added_and_the_region(
    sessions: sessionmaker[Session], client: TestClient
) -> None:
    add_product(sessions, sku="MUG-01", price="24.00", currency="EUR", stock=20)
    tax_settings(sessions, country="US", inclusive=False)
    shopper = Shopper(
        email="bo@example.com", name="Bo <b>Chen</b>", line1="1 Market Street",
        city="San Francisco", postal_code="94105", country="US", region="CA",
    )  # fmt: skip
    order = place_and_pay(sessions, (("MUG-01", 1),), shopper=shopper, codes=())
    page = client.get(f"/orders/{order.public_id}").text
    shown = text_of(page)
    assert "Sales tax 7.25% €1.74 Total €25.74" in shown
    assert "Shipping (Free shipping) Free" in shown  # no zones: ships anywhere for free
    assert "94105 San Francisco, CA, United States" in shown
    assert "<b>Chen</b>" not in page and "Bo &lt;b&gt;Chen&lt;/b&gt;" in page


# -- the admin's order page --------------------------------------------------------------------


@pytest.fixture(autouse=True)
def cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "COST", ScryptCost(n=2**14, r=8, p=1))


def signed_in(settings: Settings, sessions: sessionmaker[Session], role: str) -> TestClient:
    email = f"{role}@shop.example"
    with write_session(sessions) as session:
        create_admin(session, email, PASSWORD, role=role)
    client = TestClient(create_app(settings), base_url="https://shop.test")
    client.__enter__()
    answer = client.post("/admin/login", data={"email": email, "password": PASSWORD})
    assert answer.status_code == 200
    return client


@pytest.fixture
def owner(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    client = signed_in(settings, sessions, "owner")
    yield client
    client.__exit__(None, None, None)


@pytest.fixture
def staff(settings: Settings, sessions: sessionmaker[Session]) -> Iterator[TestClient]:
    client = signed_in(settings, sessions, "staff")
    yield client
    client.__exit__(None, None, None)


def test_the_admin_order_page_shows_the_parts_per_order_and_line(
    german_shop: sessionmaker[Session], staff: TestClient
) -> None:
    order = place_and_pay(german_shop)
    page = staff.get(f"/admin/orders/{order.number}")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "Subtotal €60.50" in shown
    assert "Discount (WELCOME10) \u2212€6.05" in shown
    assert "Shipping (DHL Paket) €4.90" in shown
    assert re.search(r"Total €59\.35 incl\. VAT €\d+\.\d\d", shown), shown
    # The mug's line: unit, its discount, its tax and rate, its total.
    assert "Stoneware Mug 2 €24.00 \u2212€4.80 €6.90 (19% incl.) €43.20" in shown
    assert "Coffee beans 1 €12.50 \u2212€1.25" in shown and "(7% incl.)" in shown
    assert "First touch source tiktok" in shown


# -- the CLI ----------------------------------------------------------------------------------


def test_the_cli_shows_an_order_with_its_parts(
    german_shop: sessionmaker[Session],
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", database_url)
    order = place_and_pay(german_shop)
    assert main(["orders", "show", order.number.lower()]) == 0
    out = capsys.readouterr().out
    rows = {" ".join(line.split()[:-1]): line.split()[-1] for line in out.splitlines()}
    assert rows["2 x MUG-01 Stoneware Mug"] == "€48.00"
    assert rows["subtotal"] == "€60.50"
    assert rows["discount (WELCOME10)"] == "-€6.05"
    assert rows["shipping (DHL Paket)"] == "€4.90"
    assert rows["total"] == "€59.35"
    assert any(label.startswith("incl. VAT") for label in rows)
    assert f"{order.number}: paid" in out
    assert "first touch: tiktok" in out
    assert main(["orders", "show", "BB-NOPE"]) == 1
    assert "no order BB-NOPE" in capsys.readouterr().err


# -- the shop's tax settings ---------------------------------------------------------------------

IDENTITY = {"name": "Pour Over Goods", "support_email": "", "allowed_origins": ""}


def csrf_of(client: TestClient) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get("/admin/account").text)
    assert found is not None
    return found[1]


def saved_tax(sessions: sessionmaker[Session]) -> tuple[str, bool, bool] | None:
    with sessions() as session:
        row = session.get(ShopProfile, 1)
        return None if row is None else (row.country, row.prices_include_tax, row.collect_tax)


def test_the_owner_sets_where_the_shop_sells_from_and_how_it_charges_tax(
    owner: TestClient, sessions: sessionmaker[Session]
) -> None:
    page = owner.get("/admin/settings").text
    assert '<select id="shop-country" name="country"' in page
    assert '<option value="US" selected>United States</option>' in page  # the default
    assert 'id="shop-collect_tax-no" name="collect_tax" value="no" checked' in page
    form = {
        "csrf": csrf_of(owner), **IDENTITY,
        "country": "PT", "prices_include_tax": "yes", "collect_tax": "yes",
    }  # fmt: skip
    saved = owner.post("/admin/settings", data=form, follow_redirects=False)
    assert saved.status_code == 303
    assert saved_tax(sessions) == ("PT", True, True)
    page = owner.get("/admin/settings").text
    assert '<option value="PT" selected>Portugal</option>' in page
    assert 'id="shop-prices_include_tax-yes" name="prices_include_tax" value="yes" checked' in page
    # A form without the tax questions (an older page) leaves them as they are.
    owner.post("/admin/settings", data={"csrf": csrf_of(owner), **IDENTITY, "name": "Renamed"})
    assert saved_tax(sessions) == ("PT", True, True)
    # Turned off, the checkout charges no tax.
    form = {**form, "csrf": csrf_of(owner), "collect_tax": "no", "prices_include_tax": "no"}
    assert owner.post("/admin/settings", data=form, follow_redirects=False).status_code == 303
    assert saved_tax(sessions) == ("PT", False, False)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("country", "Narnia", "choose the country the shop sells from"),
        ("country", "", "choose the country the shop sells from"),
        ("prices_include_tax", "maybe", "choose yes or no"),
        ("collect_tax", "2", "choose yes or no"),
    ],
)
def test_bad_tax_settings_are_refused_and_nothing_is_written(
    owner: TestClient, sessions: sessionmaker[Session], field: str, value: str, message: str
) -> None:
    form = {
        "csrf": csrf_of(owner), **IDENTITY,
        "country": "DE", "prices_include_tax": "yes", "collect_tax": "yes", field: value,
    }  # fmt: skip
    refused = owner.post("/admin/settings", data=form)
    assert refused.status_code == 422
    assert message in refused.text and f'id="err-{field}"' in refused.text
    assert saved_tax(sessions) is None


def test_tax_settings_are_for_the_owner_with_a_valid_csrf_token(
    owner: TestClient, staff: TestClient, sessions: sessionmaker[Session]
) -> None:
    form = {**IDENTITY, "country": "DE", "prices_include_tax": "yes", "collect_tax": "yes"}
    assert staff.get("/admin/settings").status_code == 403
    assert staff.post("/admin/settings", data={"csrf": csrf_of(staff), **form}).status_code == 403
    foreign = owner.post("/admin/settings", data={"csrf": csrf_of(staff), **form})
    assert foreign.status_code in (400, 403)
    assert owner.post("/admin/settings", data=form).status_code in (400, 403)
    assert saved_tax(sessions) is None


def test_the_saved_settings_price_the_next_order(
    owner: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, sku="MUG-01", price="24.00", currency="EUR", stock=20)
    form = {
        "csrf": csrf_of(owner), **IDENTITY,
        "country": "DE", "prices_include_tax": "no", "collect_tax": "yes",
    }  # fmt: skip
    owner.post("/admin/settings", data=form)
    added = place_and_pay(sessions, (("MUG-01", 1),), codes=())
    assert (added.tax_included, added.tax_amount, added.total_amount) == (False, 456, 2856)
    owner.post("/admin/settings", data={**form, "csrf": csrf_of(owner), "collect_tax": "no"})
    untaxed = place_and_pay(sessions, (("MUG-01", 1),), codes=())
    assert (untaxed.tax_amount, untaxed.total_amount) == (0, 2400)


GERMAN_DETAILS = {
    "email": BERLIN.email,
    "name": BERLIN.name,
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}
CARD = {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123"}


GERMAN_DETAILS = {
    "email": BERLIN.email,
    "name": BERLIN.name,
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}
CARD = {"card_number": "4242 4242 4242 4242", "card_expiry": "12 / 34", "card_cvc": "123"}


def test_the_checkout_charges_the_total_it_stored(german_shop: sessionmaker[Session]) -> None:
    """Through ``services.checkout.pay``, the hosted checkout's path: the provider is asked
    for exactly the order's total, with the link's code applied."""
    provider = RecordingProvider()
    link = CheckoutLink(sku="MUG-01", quantity=2, items=LOOK, codes=("WELCOME10",))
    outcome = checkout.pay(
        german_shop,
        provider,
        checkout.PaymentForm(
            link=link,
            quantity=2,
            attempt_key=secrets.token_urlsafe(18),
            method="card",
            details=GERMAN_DETAILS,
            payment_details=CARD,
        ),
        hold_for=timedelta(minutes=15),
    )
    assert outcome.order is not None and outcome.order.status == "paid", outcome
    with german_shop() as session:
        order = session.scalars(select(Order).where(Order.number == outcome.order.number)).one()
        expected_german(order)
        assert [c.amount for c in provider.charged] == [order.total_amount] == [5935]
