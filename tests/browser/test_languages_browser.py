"""A German phone and an Arabic one (issue 16): German words and "1.234,50 €" on the widget,
the checkout and the receipt; a right-to-left Arabic checkout (screenshots in
test-artifacts/: languages-de-checkout.png, languages-ar-checkout.png)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Playwright, expect

from tests.browser.conftest import Demo, checkout_ready, new_phone, screenshot
from tests.conftest import add_product

pytestmark = pytest.mark.browser
EURO = "1.234,50\xa0€"


def _euro_lamp(demo: Demo) -> str:
    add_product(
        demo.sessions,
        sku="LAMP-EU",
        title="Messinglampe",
        price="1234.50",
        currency="EUR",
        stock=5,
        requires_shipping="no",
    )
    return demo.bb.checkout_link("LAMP-EU")


def test_german_phone_sees_german_words_and_euro_format(
    browser: Browser, playwright: Playwright, demo: Demo
) -> None:
    link = _euro_lamp(demo)
    phone = new_phone(browser, playwright, locale="de-DE")
    page = phone.new_page()
    page.goto(demo.post)
    page.evaluate(
        """(href) => { const a = document.createElement("a"); a.href = href;
        a.setAttribute("data-buybutton-sku", "LAMP-EU"); a.textContent = "Kaufen";
        document.body.prepend(a); }""",
        link,
    )
    expect(page.locator('a[data-buybutton-sku="LAMP-EU"] .p')).to_contain_text(f" · {EURO}")
    page.goto(link)
    checkout_ready(page)
    expect(page.locator("html")).to_have_attribute("lang", "de-DE")
    expect(page.locator("#pay-card")).to_contain_text("Bezahlen")
    expect(page.locator("#total")).to_have_text(EURO)
    for name, value in {
        "email": "ana@example.com",
        "name": "Ana Lima",
        "card_number": "4242 4242 4242 4242",
        "card_expiry": "12 / 34",
        "card_cvc": "123",
    }.items():
        page.fill(f'input[name="{name}"]', value)
    screenshot(page, "languages-de-checkout")
    page.locator("#pay-card").tap()
    expect(page.locator(".done h1")).to_have_text("Vielen Dank, Ana Lima!")
    expect(page.locator("#order-total")).to_have_text(EURO)
    screenshot(page, "languages-de-receipt")
    phone.close()


def test_arabic_checkout_reads_right_to_left(
    browser: Browser, playwright: Playwright, demo: Demo
) -> None:
    link = _euro_lamp(demo)
    phone = new_phone(browser, playwright, locale="ar-EG")
    page = phone.new_page()
    page.goto(link)
    checkout_ready(page)
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("#pay-card")).to_contain_text("ادفع")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the Arabic page scrolls sideways ({width}px)"
    screenshot(page, "languages-ar-checkout")
    phone.close()
