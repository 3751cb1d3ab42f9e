"""Issue 15, "Done when", on an iPhone: pick up in store, the counter, return in store.

Three stores: A (Lisbon, nearest to the shopper's phone), B (Porto) and C (Coimbra). The
product is stocked only at B. The shopper opens the checkout link, lets the page sort the
stores by distance (B stays first: A and C have nothing), picks B and pays with the test
wallet. Staff of B (a login limited to B) signs in at /store, marks the order ready (the
shopper's pickup email arrives with the 6-digit code), types a wrong code (refused), then the
right one (collected). Later the shopper returns it at C: staff of C takes the return at
/store/C/returns; C's stock goes up by one and the order is refunded. Each step arrives as a
signed webhook (order.paid, order.ready_for_pickup, order.collected, return.received with
the location, order.refunded).

The demo runs with its own background workers (mail and webhooks every second): nothing here
sends by hand."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect
from sqlalchemy import select

from buybutton_server.db import write_session
from buybutton_server.db.models import Location, Order, Product, StockLevel
from buybutton_server.domain import outbox
from buybutton_server.domain.admin_auth import STAFF, create_admin, set_locations
from buybutton_server.services import locations
from buybutton_server.services.locations import LocationCreate, StockAt
from tests.browser.conftest import Demo, checkout_ready, run_demo, screenshot
from tests.browser.test_after_payment_browser import Hooks, Inbox, text_of
from tests.conftest import add_product
from tests.live_server import LiveServers, free_port
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.browser

SKU = "STORE-ONLY-01"
SHOPPER = "ines.pickup@example.com"
PASSWORD = "correct horse battery"
EVENTS = [
    "order.paid",
    "order.ready_for_pickup",
    "order.collected",
    "return.received",
    "order.refunded",
]
# Lisbon Chiado (A), Porto Baixa (B), Coimbra (C); the shopper stands in Lisbon, by A.
STORES = {
    "T-A": ("Store A Chiado", "Lisboa", 38.7107, -9.1423),
    "T-B": ("Store B Baixa", "Porto", 41.1466, -8.6110),
    "T-C": ("Store C Baixa", "Coimbra", 40.2090, -8.4290),
}
HERE = {"latitude": 38.7110, "longitude": -9.1400}


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[Demo, Inbox, Hooks]]:
    """The demo with its mail going to a test SMTP server and its webhooks to a receiver."""
    from aiosmtpd.controller import Controller

    box, smtp_port = Inbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with run_demo(
            tmp_path, smtp_url=f"smtp://127.0.0.1:{smtp_port}", mail_dir=str(tmp_path / "unused")
        ) as demo:
            receiver, hook_port = Receiver(), free_port()
            with LiveServers([(receiver.app(), hook_port)]):
                with write_session(demo.sessions) as session:
                    endpoint = outbox.create_endpoint(
                        session, f"http://127.0.0.1:{hook_port}/hook", EVENTS
                    )
                    secret = str(endpoint.secret)
                yield demo, box, Hooks(receiver, secret)
    finally:
        controller.stop()


def _set_up_stores(demo: Demo) -> None:
    """Three pickup stores that take returns; the product on sale only at B (none at MAIN,
    none at A, an empty shelf at C)."""
    add_product(demo.sessions, sku=SKU, title="Store-only Lantern", price="30.00", stock=0)
    for code, (name, city, lat, lng) in STORES.items():
        locations.create_location(
            demo.sessions,
            LocationCreate(
                code=code,
                name=name,
                kind="store",
                lat=lat,
                lng=lng,
                pickup_enabled=True,
                country="PT",
                city=city,
                line1="Rua Principal 1",
                pickup_ready_minutes=120,
                pickup_instructions="Ask at the till.",
                accepts_returns=True,
            ),
        )
    locations.set_stock_at(demo.sessions, "T-B", SKU, StockAt(on_hand=2))
    locations.set_stock_at(demo.sessions, "T-C", SKU, StockAt(on_hand=0))


def _staff_at(demo: Demo, email: str, code: str) -> None:
    with write_session(demo.sessions) as session:
        login = create_admin(session, email, PASSWORD, role=STAFF)
        store = session.scalars(select(Location).where(Location.code == code)).one()
        set_locations(session, login.id, {store.id})


def _level(demo: Demo, code: str) -> tuple[int, int]:
    with demo.sessions() as session:
        row = session.execute(
            select(StockLevel.on_hand, StockLevel.reserved)
            .join(Location, Location.id == StockLevel.location_id)
            .join(Product, Product.id == StockLevel.product_id)
            .where(Location.code == code, Product.sku == SKU)
        ).one()
        return int(row[0]), int(row[1])


def _order(demo: Demo) -> Order:
    with demo.sessions() as session:
        return session.scalars(select(Order).where(Order.email == SHOPPER)).one()


def _phone_in_lisbon(browser: Browser, playwright: Playwright) -> BrowserContext:
    context = browser.new_context(
        **playwright.devices["iPhone 13"],
        locale="en-US",
        geolocation=HERE,
        permissions=["geolocation"],
    )
    context.set_default_timeout(10_000)
    return context


def _sign_in(page: Page, demo: Demo, email: str) -> None:
    page.goto(f"{demo.shop}/store")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").tap()


def _fits(page: Page, name: str) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{name} scrolls sideways: {widths}"
    screenshot(page, f"stores-{name}")


def _axe(page: Page, name: str) -> None:
    found = [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in Axe().run(page).response["violations"]
    ]
    assert found == [], f"axe on {name}: {found}"


def test_pickup_at_the_store_that_has_it_then_return_at_another(
    browser: Browser, playwright: Playwright, shop: tuple[Demo, Inbox, Hooks]
) -> None:
    demo, inbox, hooks = shop
    _set_up_stores(demo)
    _staff_at(demo, "clerk.b@shop.example", "T-B")
    _staff_at(demo, "clerk.c@shop.example", "T-C")

    # -- the shopper: B first (the only store with it), though A is nearer -----------------
    phone = _phone_in_lisbon(browser, playwright)
    shopper = phone.new_page()
    shopper.goto(demo.bb.checkout_link(SKU, email=SHOPPER, name="Ines Sousa"))
    checkout_ready(shopper)
    stores = shopper.locator("#pickup-stores > li")
    expect(stores.first).to_contain_text("Store B Baixa")
    shopper.locator("#stores-near").tap()
    expect(shopper.locator("#stores-near")).to_be_hidden()
    expect(stores.first).to_contain_text("Pick up at Store B Baixa — ready in 2 h")
    listed = stores.all_inner_texts()
    at = {
        code: next(i for i, t in enumerate(listed) if store[0] in t)
        for code, store in STORES.items()
    }
    assert at["T-B"] == 0 and at["T-A"] < at["T-C"], listed
    expect(stores.nth(at["T-A"])).to_contain_text("not in stock there")
    expect(stores.nth(at["T-A"]).locator(".store-distance")).to_be_hidden()  # out: no choice
    shopper.get_by_label(re.compile("Pick up at Store B Baixa")).check()
    expect(shopper.locator("fieldset.address")).to_be_hidden()
    # Pickup costs nothing: the live quote drops the shipping (PT VAT is in the price).
    expect(shopper.locator("#pay-amount")).to_have_text("$30.00")
    expect(shopper.locator("#total")).to_have_text("$30.00")
    _fits(shopper, "pickup-choice")
    shopper.locator("#pay-wallet").tap()
    expect(shopper.locator(".done h1")).to_contain_text("Thank you")
    _fits(shopper, "pickup-paid")
    number = shopper.locator(".order-number").inner_text()
    order = _order(demo)
    assert (order.number, order.status, order.fulfilment_method) == (number, "paid", "pickup")
    assert (order.shipping_amount, order.total_amount) == (0, 3000)
    assert _level(demo, "T-B") == (1, 0)  # paid: the unit left B's shelf
    paid = hooks.wait_for("order.paid")
    assert number in json.dumps(paid), paid

    # -- staff at B: ready, a wrong code, the right code ------------------------------------
    clerk = phone.new_page()
    _sign_in(clerk, demo, "clerk.b@shop.example")
    expect(clerk.locator("h1")).to_have_text("Store B Baixa")  # one store: straight there
    card = clerk.locator("article.order-card", has_text=number)
    expect(card).to_have_count(1)
    _fits(clerk, "counter-list")
    _axe(clerk, "counter-list")
    card.get_by_role("button", name="Ready: email the code").tap()
    expect(clerk.locator(".notice")).to_contain_text("Marked ready")
    ready = hooks.wait_for("order.ready_for_pickup")
    assert ready["data"]["location"]["code"] == "T-B", ready
    mail = inbox.wait_for(lambda subject: subject.endswith(f"Order {number} is ready to collect"))
    body = text_of(mail)
    found = re.search(r"Your code for the counter: (\d{3}) (\d{3})", body)
    assert found, body
    code = found.group(1) + found.group(2)
    assert "Store B Baixa" in body and "Ask at the till." in body
    _fits(clerk, "counter-ready")

    wrong = "000000" if code != "000000" else "111111"
    clerk.get_by_label(f"Pickup code for {number}").fill(wrong)
    clerk.get_by_role("button", name="Collected").tap()
    expect(clerk.locator(".alert")).to_be_visible()
    _fits(clerk, "counter-wrong-code")
    assert _order(demo).fulfilled_at is None
    clerk.get_by_label(f"Pickup code for {number}").fill(code)
    clerk.get_by_role("button", name="Collected").tap()
    expect(clerk.locator(".notice")).to_contain_text("Collected")
    collected = hooks.wait_for("order.collected")
    assert collected["data"]["location"]["code"] == "T-B", collected
    assert _order(demo).fulfilled_at is not None
    expect(clerk.locator("article.order-card", has_text=number)).to_have_count(0)

    # -- the shopper returns it at C --------------------------------------------------------
    clerk.context.clear_cookies()
    _sign_in(clerk, demo, "clerk.c@shop.example")
    expect(clerk.locator("h1")).to_have_text("Store C Baixa")
    clerk.get_by_role("link", name="Return at the counter").tap()
    clerk.get_by_label("Order number (on the receipt or email)").fill(number)
    clerk.get_by_role("button", name="Find the order").tap()
    expect(clerk.locator("h2")).to_have_text(f"Order {number}")
    clerk.get_by_label(re.compile("Store-only Lantern")).fill("1")
    clerk.get_by_label("Reason").select_option("changed_mind")
    expect(clerk.get_by_label("Back on this store's shelf")).to_be_checked()
    _fits(clerk, "counter-return-form")
    _axe(clerk, "counter-return-form")
    clerk.get_by_role("button", name="Take the return and refund").tap()
    expect(clerk.locator(".notice")).to_contain_text("back on this store's shelf")
    _fits(clerk, "counter-return-done")
    assert _level(demo, "T-C") == (1, 0)  # C restocks, B stays as it was
    assert _level(demo, "T-B") == (1, 0)
    received = hooks.wait_for("return.received")
    assert received["data"]["location"]["code"] == "T-C", received
    refunded = hooks.wait_for("order.refunded")
    assert _order(demo).status == "refunded", refunded
    phone.close()
