"""Issue 13, item 8 on an iPhone: the expiry typed on a number pad, a refused card that keeps
what was typed, and Back after paying showing the order instead of a fresh checkout."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import PORTO, Demo, checkout_ready, fill_address, screenshot
from tests.conftest import orders

pytestmark = pytest.mark.browser

CONTACT = {"email": "ana@example.com", "name": "Ana Lima"}


def assert_no_axe_violations(page: Page) -> None:
    found = [(v["id"], v["help"]) for v in Axe().run(page).response["violations"]]
    assert found == []


def open_checkout(phone: BrowserContext, demo: Demo) -> Page:
    page = phone.new_page()
    page.goto(demo.bb.checkout_link("DRIPPER-01"))
    checkout_ready(page)
    return page


def test_the_expiry_formats_as_a_number_pad_types_it(phone: BrowserContext, demo: Demo) -> None:
    page = open_checkout(phone, demo)
    expiry = page.locator('input[name="card_expiry"]')
    assert expiry.get_attribute("inputmode") == "numeric"  # the number pad, no "/" key
    expiry.press_sequentially("12")
    expect(expiry).to_have_value("12")
    expiry.press_sequentially("30")
    expect(expiry).to_have_value("12 / 30")
    expiry.scroll_into_view_if_needed()
    screenshot(page, "checkout-expiry-iphone13")
    expiry.press("Backspace")
    expect(expiry).to_have_value("12 / 3")
    expiry.press("Backspace")
    expect(expiry).to_have_value("12")  # the " / " goes with the last year digit
    expiry.press_sequentially("4")
    expect(expiry).to_have_value("12 / 4")
    expiry.fill("")
    expiry.press_sequentially("4")
    expect(expiry).to_have_value("04 / ")  # no month starts with 4
    expiry.fill("12/2030")  # pasted, or the browser's autofill
    expect(expiry).to_have_value("12 / 30")


def test_a_wrong_expiry_is_named_at_the_field_before_anything_is_sent(
    phone: BrowserContext, demo: Demo
) -> None:
    page = open_checkout(phone, demo)
    fill_address(page, "PT", PORTO)  # the country's own fields, swapped in by checkout.js
    for name, value in {**CONTACT, "card_number": "4242 4242 4242 4242", "card_cvc": "123"}.items():
        page.fill(f'input[name="{name}"]', value)
    expiry = page.locator('input[name="card_expiry"]')
    expiry.press_sequentially("1330")
    posts: list[str] = []
    # (a price quote may still be on its way for the address: that is not a payment)
    page.on(
        "request",
        lambda r: posts.append(r.url) if r.method == "POST" and "/quote" not in r.url else None,
    )
    page.locator("#pay-card").tap()
    error = page.locator("#err-card_expiry")
    expect(error).to_have_text("Enter the expiry date as MM / YY.")
    expect(expiry).to_have_attribute("aria-invalid", "true")
    expect(expiry).to_have_attribute("aria-describedby", "err-card_expiry")
    assert posts == [] and orders(demo.sessions) == []
    expiry.fill("")
    expiry.press_sequentially("1230")
    page.locator("#pay-card").tap()
    expect(page.locator(".done h1")).to_have_text("Thank you, Ana Lima!")


def test_a_refused_card_keeps_what_the_shopper_typed(phone: BrowserContext, demo: Demo) -> None:
    page = open_checkout(phone, demo)
    fill_address(page, "PT", PORTO)
    for name, value in {**CONTACT, "card_number": "4242 4242 4242 4242", "card_cvc": "1"}.items():
        page.fill(f'input[name="{name}"]', value)
    page.locator('input[name="card_expiry"]').press_sequentially("1230")
    page.locator("#pay-card").tap()
    expect(page.locator("#err-card_cvc")).to_have_text("Enter the 3 or 4 digit security code.")
    expect(page.locator('input[name="card_number"]')).to_have_value("4242 4242 4242 4242")
    expect(page.locator('input[name="card_expiry"]')).to_have_value("12 / 30")
    expect(page.locator('input[name="card_cvc"]')).to_have_attribute("aria-invalid", "true")
    expect(page.locator('input[name="email"]')).to_have_value("ana@example.com")
    checkout_ready(page)
    screenshot(page, "checkout-refused-cvc-iphone13")
    assert_no_axe_violations(page)
    page.fill('input[name="card_cvc"]', "123")
    page.locator("#pay-card").tap()
    expect(page.locator(".done h1")).to_have_text("Thank you, Ana Lima!")
    assert [o.status for o in orders(demo.sessions, "paid")] == ["paid"]


def test_back_after_paying_shows_the_order_not_a_new_checkout(
    phone: BrowserContext, demo: Demo
) -> None:
    page = open_checkout(phone, demo)
    page.locator("#pay-wallet").tap()
    expect(page.locator(".done h1")).to_have_text("Thank you, Wallet Shopper!")
    number = page.locator(".order-number").inner_text()
    page.go_back()
    expect(page.locator("h1")).to_have_text("You bought this already")
    expect(page.locator(".order-number")).to_have_text(number)
    expect(page.locator("#checkout")).to_have_count(0)  # no wallet button to tap again
    screenshot(page, "already-bought-iphone13")
    assert_no_axe_violations(page)
    assert len(orders(demo.sessions, "paid")) == 1

    page.locator("#see-order").tap()
    expect(page.locator(".order-number")).to_have_text(number)
    page.go_back()
    page.locator("#buy-again").tap()  # buying again is a choice the shopper makes
    checkout_ready(page)
    page.locator("#pay-wallet").tap()
    expect(page.locator(".done h1")).to_have_text("Thank you, Wallet Shopper!")
    page.go_back()  # after buying again, Back shows the newer order
    expect(page.locator("h1")).to_have_text("You bought this already")
    expect(page.locator(".order-number")).not_to_have_text(number)
    assert len(orders(demo.sessions, "paid")) == 2
