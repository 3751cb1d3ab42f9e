"""A shopper on a phone: from the blog post to a paid order, in Debian's Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.conftest import PORTO, Demo, checkout_ready, fill_address, screenshot
from tests.conftest import orders, product

pytestmark = pytest.mark.browser


class Taps:
    """Counts what the shopper does with a finger, so the test can assert the tap budget."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0

    def tap(self, selector: str) -> None:
        self.page.locator(selector).tap()
        self.count += 1


def open_post(phone: BrowserContext, demo: Demo) -> Page:
    page = phone.new_page()
    page.goto(demo.post)
    expect(page.locator('a[data-buybutton-sku="DRIPPER-01"] .p')).to_have_text(" · $28.00")
    return page


def test_card_payment_from_the_blog_post(phone: BrowserContext, demo: Demo) -> None:
    page = open_post(phone, demo)
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    taps = Taps(page)
    taps.tap('a[data-buybutton-sku="DRIPPER-01"]')
    expect(page.locator("h1")).to_have_text("Ceramic Pour-Over Dripper")
    checkout_ready(page)
    page.select_option("#quantity", "2")
    expect(page.locator("#t-subtotal")).to_have_text("$56.00")
    # Portugal: the shop's own country, VAT in the price, EU shipping free over $50.
    fill_address(page, "PT", PORTO)
    expect(page.locator("#t-shipping")).to_have_text("Free")
    expect(page.locator("#pay-amount")).to_have_text("$56.00")
    for name, value in {
        "email": "ana@example.com",
        "name": "Ana Lima",
        "card_number": "4242 4242 4242 4242",
        "card_expiry": "12 / 34",
        "card_cvc": "123",
    }.items():
        page.fill(f'input[name="{name}"]', value)
    screenshot(page, "checkout-filled-iphone13")
    taps.tap("#pay-card")
    expect(page.locator(".done h1")).to_have_text("Thank you, Ana Lima!")
    screenshot(page, "order-paid-iphone13")
    number = page.locator(".order-number").inner_text()

    [order] = orders(demo.sessions)
    assert (order.number, order.status, order.total_amount) == (number, "paid", 5600)
    assert (order.source, order.campaign, order.content) == (
        "blog",
        "pour-over-guide",
        "post-pour-over-at-home",
    )
    assert order.payment_method == "card"
    dripper = product(demo.sessions, "DRIPPER-01")
    assert (dripper.on_hand, dripper.reserved) == (23, 0)
    assert violations == []
    # And the way back to the post the shopper came from.
    back = page.locator('a.back[target="_top"]')  # (a.back also asks for a return)
    expect(back).to_have_text(f"Back to {demo.blog.removeprefix('http://')}")
    back.tap()
    expect(page).to_have_url(demo.post)


def test_a_quantity_picked_before_the_script_runs_is_in_the_total(
    phone: BrowserContext, demo: Demo
) -> None:
    """A fast shopper on a slow phone: the quantity changes before checkout.js has run."""
    page = phone.new_page()
    held: list[Route] = []
    page.route("**/static/checkout.js*", lambda route: held.append(route))
    # A link that lets the shopper choose the quantity (a plain link's quantity is binding).
    link = demo.bb.checkout_link("DRIPPER-01", min_quantity=1, max_quantity=10)
    page.goto(link, wait_until="commit")
    page.wait_for_function("document.getElementById('quantity') !== null")
    while not held:  # the parser has reached the script; it waits for our say-so
        page.wait_for_timeout(20)
    page.select_option("#quantity", "2")
    expect(page.locator("#pay-amount")).to_have_text("$28.00")  # the server's rendering
    held[0].continue_()
    checkout_ready(page)
    expect(page.locator("#t-subtotal")).to_have_text("$56.00")
    # An en-US phone starts on the United States: $5.00 standard shipping.
    expect(page.locator("#pay-amount")).to_have_text("$61.00")
    expect(page.locator("#total")).to_have_text("$61.00")
    page.locator("#pay-wallet").tap()
    expect(page.locator(".done h1")).to_contain_text("Thank you")
    # The wallet's address is in California: US-West shipping and CA sales tax on top.
    [order] = orders(demo.sessions)
    assert (order.subtotal_amount, order.shipping_amount, order.tax_amount) == (5600, 600, 406)
    assert order.total_amount == 6606
    expect(page.locator("#order-total")).to_have_text("$66.06")


def test_a_fresh_checkout_visit_logs_no_error_and_fetches_no_missing_file(
    phone: BrowserContext, demo: Demo
) -> None:
    """Item 27: no 404 for the icon (or anything else) on a first visit, no console error."""
    page = phone.new_page()
    errors: list[str] = []
    missing: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 else None)
    page.goto(demo.bb.checkout_link("DRIPPER-01"))
    checkout_ready(page)
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert icon is not None
    answer = page.request.get(demo.shop + icon)
    assert answer.ok and answer.headers["content-type"].startswith("image/svg+xml")
    assert page.request.get(demo.shop + "/favicon.ico").ok
    page.wait_for_timeout(1000)  # the browser asks for its icon after load, on its own
    assert (errors, missing) == ([], [])


def test_wallet_pays_in_two_taps_from_the_post(phone: BrowserContext, demo: Demo) -> None:
    page = open_post(phone, demo)
    taps = Taps(page)
    taps.tap('a[data-buybutton-sku="GRINDER-02"]')
    checkout_ready(page)
    taps.tap("#pay-wallet")
    expect(page.locator(".done h1")).to_have_text("Thank you, Wallet Shopper!")
    assert taps.count == 2
    [order] = orders(demo.sessions)
    assert (order.status, order.payment_method) == ("paid", "wallet")
    # The wallet's Californian address: $6.00 US-West shipping, 7.25 % sales tax on top.
    assert (order.subtotal_amount, order.shipping_amount, order.tax_amount) == (6400, 600, 464)
    assert order.total_amount == 7464
    assert product(demo.sessions, "GRINDER-02").on_hand == 7


def test_declined_card_shows_the_reason_and_no_order_is_paid(
    phone: BrowserContext, demo: Demo
) -> None:
    page = phone.new_page()
    page.goto(
        demo.bb.checkout_link(
            "BEANS-GUJI-250", email="ana@example.com", name="Ana Lima", source="email"
        )
    )
    expect(page.locator('input[name="email"]')).to_have_value("ana@example.com")
    checkout_ready(page)
    fill_address(page, "PT", PORTO)
    for name, value in {
        "card_number": "4000 0000 0000 0002",
        "card_expiry": "12/34",
        "card_cvc": "123",
    }.items():
        page.fill(f'input[name="{name}"]', value)
    page.locator("#pay-card").tap()
    expect(page.locator("#alert")).to_have_text("Your card was declined. Try another card.")
    screenshot(page, "checkout-declined-iphone13")
    assert orders(demo.sessions, "paid") == []
    beans = product(demo.sessions, "BEANS-GUJI-250")
    assert (beans.on_hand, beans.reserved) == (40, 0)


def test_double_tap_on_pay_makes_one_order(phone: BrowserContext, demo: Demo) -> None:
    page = phone.new_page()
    page.goto(demo.bb.checkout_link("DRIPPER-01"))
    checkout_ready(page)
    page.locator("#pay-wallet").dblclick()
    expect(page.locator(".done h1")).to_contain_text("Thank you")
    assert len(orders(demo.sessions)) == 1


def test_sold_out_button_says_so_and_does_not_navigate(phone: BrowserContext, demo: Demo) -> None:
    page = open_post(phone, demo)
    kettle = page.locator('a[data-buybutton-sku="KETTLE-03"]')
    expect(kettle).to_have_attribute("aria-disabled", "true")
    expect(kettle).to_contain_text("Sold out")
    kettle.tap(force=True)  # Playwright, like assistive tech, sees it as disabled
    page.wait_for_timeout(300)
    assert page.url == demo.post


def test_the_link_works_without_javascript(browser, playwright, demo: Demo) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(**playwright.devices["iPhone 13"], java_script_enabled=False)
    page = context.new_page()
    page.goto(demo.post)
    page.locator('a[data-buybutton-sku="DRIPPER-01"]').tap()
    # Without script the page cannot quote the wallet's address before paying: the first tap
    # prices it (California: $6.00 shipping, 7.25 % tax) and shows the total, nothing charged.
    page.locator("#pay-wallet").tap()
    expect(page.locator("#alert")).to_contain_text("Check the total and pay")
    expect(page.locator("#total")).to_have_text("$36.03")
    assert orders(demo.sessions, "paid") == []
    page.locator("#pay-wallet").tap()
    expect(page.locator(".done h1")).to_contain_text("Thank you")
    context.close()
    [order] = orders(demo.sessions)
    assert (order.status, order.total_amount) == ("paid", 3603)
