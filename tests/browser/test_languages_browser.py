"""A German phone and an Arabic one (issue 16): German words and "1.234,50 €" on the widget,
the checkout, the thank-you page and the receipt email; a right-to-left Arabic checkout
(screenshots in test-artifacts/: languages-de-checkout.png, languages-ar-checkout.png)."""

from __future__ import annotations

import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect
from sqlalchemy import select

from buybutton_server.db.models import Order
from tests.browser.conftest import Demo, checkout_ready, new_phone, screenshot
from tests.conftest import add_product
from tests.test_mail import parts, read_eml

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


def _receipt(folder: Path, number: str, wait: float = 20.0) -> EmailMessage:
    """The receipt of order ``number`` once the demo's sender (every second, development:
    ``.eml`` files in ``mail/`` next to its SQLite file) has written it."""
    deadline = time.monotonic() + wait
    while True:
        for path in sorted(folder.glob("*.eml")):
            message = read_eml(path)
            if number in str(message["Subject"]):
                return message
        assert time.monotonic() < deadline, f"no receipt for {number} in {folder}"
        time.sleep(0.25)


def test_german_phone_sees_german_words_and_euro_format(
    browser: Browser, playwright: Playwright, demo: Demo, tmp_path: Path
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
    # The receipt email of that order: German words, German money, German headers.
    with demo.sessions() as session:
        order = session.scalars(select(Order).where(Order.email == "ana@example.com")).one()
        number, locale = order.number, order.locale
    assert locale == "de-DE"
    message = _receipt(tmp_path / "mail", number)
    assert str(message["Subject"]).endswith(f": Ihre Quittung für die Bestellung {number}")
    assert message["Content-Language"] == "de-DE"
    text, html = parts(message)
    for body in (text, html):
        assert EURO in body, body
        assert "ist bezahlt. Dies ist Ihre Quittung." in body and "Bezahlt mit:" in body
        assert "Your order" not in body and "Paid with" not in body
    assert '<html lang="de-DE" dir="ltr">' in html


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
    # Card numbers, expiry dates and the email read left to right inside the RTL page
    # ("07 / 29" once showed as "29 / 07").
    for name in ("card_number", "card_expiry", "card_cvc", "email"):
        expect(page.locator(f'input[name="{name}"]')).to_have_css("direction", "ltr")
    expect(page.locator('input[name="name"]')).to_have_css("direction", "rtl")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the Arabic page scrolls sideways ({width}px)"
    screenshot(page, "languages-ar-checkout")
    phone.close()
