"""A shopper pays through Stripe on a phone: localstripe's stand-in Stripe.js in the page, and
localstripe's real signed webhooks settling the order on our live server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from buybutton import BuyButton
from buybutton_server import Settings, create_app
from buybutton_server.db import make_engine, migrate, session_factory
from buybutton_server.db.models import ProcessedEvent
from buybutton_server.services import locations
from buybutton_server.services.locations import LocationCreate, StockAt
from tests.browser.conftest import fill_address, screenshot
from tests.conftest import SHOPPER, add_product, orders, product
from tests.live_server import LiveServers, free_port
from tests.stripe_support import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET

pytestmark = pytest.mark.browser


@dataclass
class StripeShop:
    bb: BuyButton
    sessions: sessionmaker[Session]


@pytest.fixture
def shop(tmp_path: Path, localstripe: str) -> Iterator[StripeShop]:
    port = free_port()
    settings = Settings(
        secret_keys=("browser-test-secret-0123456789abcdef",),
        database_url=f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        base_url=f"http://127.0.0.1:{port}",
        payment_provider="stripe",
        stripe_secret_key=SECRET_KEY,
        stripe_publishable_key=PUBLISHABLE_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=localstripe,
        stripe_js_url=f"{localstripe}/js.stripe.com/v3/",
    )
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    add_product(sessions, stock=5, price="24.00")
    httpx.post(
        f"{localstripe}/_config/webhooks/buybutton",
        json={
            "url": f"{settings.base_url}/webhooks/stripe",
            "secret": WEBHOOK_SECRET,
            "events": [
                "payment_intent.succeeded",
                "payment_intent.payment_failed",
                "payment_intent.canceled",
                "payment_intent.processing",
                "payment_intent.requires_action",
            ],
        },
    ).raise_for_status()
    with LiveServers([(create_app(settings), port)]):
        yield StripeShop(
            bb=BuyButton(secret_keys=list(settings.secret_keys), base_url=settings.base_url),
            sessions=sessions,
        )
    engine.dispose()


def fill_checkout(page: Page, card: str) -> None:
    for name in ("email", "name"):
        page.fill(f'input[name="{name}"]', SHOPPER[name])
    # The country picker and that country's fields (this shop has no zones: it ships
    # anywhere for free and charges no tax, so the total stays the product's price).
    fill_address(page, "PT", {k: SHOPPER[k] for k in ("line1", "city", "postal_code")})
    element = page.locator("#card-element")
    for placeholder, value in (
        ("number", card),
        ("exp_month", "12"),
        ("exp_year", "34"),
        ("cvc", "123"),
        ("postal_code", "4000"),
    ):
        element.get_by_placeholder(placeholder, exact=True).fill(value)


def wait_until(check, seconds: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def webhook_events(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(ProcessedEvent.type)))


def test_card_payment_through_stripe(phone: BrowserContext, shop: StripeShop) -> None:
    page = phone.new_page()
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    page.goto(shop.bb.checkout_link("MUG-01", source="tiktok"))
    fill_checkout(page, "4242424242424242")
    screenshot(page, "stripe-checkout-iphone13")
    page.locator("#pay-card").tap()
    expect(page.locator(".done h1")).to_have_text("Thank you, Ana Lima!")
    [order] = orders(shop.sessions)
    assert (order.status, order.source, order.total_amount) == ("paid", "tiktok", 2400)
    # localstripe's own signed webhook reaches the live server and verifies.
    wait_until(lambda: "payment_intent.succeeded" in webhook_events(shop.sessions))
    assert len(orders(shop.sessions, "paid")) == 1
    assert (product(shop.sessions).on_hand, product(shop.sessions).reserved) == (4, 0)
    assert violations == []


def test_three_d_secure_then_webhook(phone: BrowserContext, shop: StripeShop) -> None:
    page = phone.new_page()
    page.goto(shop.bb.checkout_link("MUG-01"))
    fill_checkout(page, "4000000000003220")
    page.locator("#pay-card").tap()
    page.get_by_role("button", name="Complete authentication").click()
    # The order page waits for Stripe's webhook, then shows the result by itself.
    expect(page.locator(".done h1")).to_have_text("Thank you, Ana Lima!", timeout=20_000)
    assert [o.status for o in orders(shop.sessions)] == ["paid"]
    assert "payment_intent.succeeded" in webhook_events(shop.sessions)
    assert product(shop.sessions).on_hand == 4


def test_declined_card_through_stripe(phone: BrowserContext, shop: StripeShop) -> None:
    page = phone.new_page()
    page.goto(shop.bb.checkout_link("MUG-01"))
    fill_checkout(page, "4000000000000341")
    page.locator("#pay-card").tap()
    expect(page.locator("#pay-error")).to_have_text("Your card was declined. Try another card.")
    screenshot(page, "stripe-declined-iphone13")
    assert orders(shop.sessions, "paid") == []
    assert product(shop.sessions).reserved == 0
    fill_checkout(page, "4242424242424242")  # and the retry is a fresh attempt that works
    page.locator("#pay-card").tap()
    expect(page.locator(".done h1")).to_have_text("Thank you, Ana Lima!")
    assert len(orders(shop.sessions, "paid")) == 1


def test_failed_three_d_secure_releases_the_stock(phone: BrowserContext, shop: StripeShop) -> None:
    page = phone.new_page()
    page.goto(shop.bb.checkout_link("MUG-01"))
    fill_checkout(page, "4000000000003220")
    page.locator("#pay-card").tap()
    page.get_by_role("button", name="Fail authentication").click()
    expect(page.locator("#pay-error")).to_contain_text("Your bank could not confirm the payment")
    assert [o.status for o in orders(shop.sessions)] == ["canceled"]
    assert (product(shop.sessions).on_hand, product(shop.sessions).reserved) == (5, 0)


def test_reserving_at_a_store_on_the_stripe_page_takes_no_card(
    phone: BrowserContext, shop: StripeShop
) -> None:
    """Reserve-and-pay-in-store on a Stripe shop: the card form is hidden, nothing is sent to
    Stripe, and the order is reserved at the store (the page's Stripe.js once insisted on
    turning an empty, hidden card into a payment method)."""
    locations.create_location(
        shop.sessions,
        LocationCreate(
            code="S-1", name="Store One", kind="store", country="PT", city="Porto",
            line1="Rua Principal 1", pickup_enabled=True, reservations_enabled=True,
            lat=41.15, lng=-8.61,
        ),
    )  # fmt: skip
    locations.set_stock_at(shop.sessions, "S-1", "MUG-01", StockAt(on_hand=2))
    page = phone.new_page()
    page.goto(shop.bb.checkout_link("MUG-01"))
    page.locator('input[name="fulfilment"][value="reserve:S-1"]').check()
    expect(page.locator("#card-element")).to_be_hidden()
    for name in ("email", "name"):
        page.fill(f'input[name="{name}"]', SHOPPER[name])
    page.locator("#pay-card").tap()
    expect(page.locator(".done h1")).to_contain_text("Ana Lima")
    [order] = orders(shop.sessions)
    assert (order.status, order.payment_provider) == ("reserved", "in_store")
    assert order.payment_reference is None  # no PaymentIntent was made
