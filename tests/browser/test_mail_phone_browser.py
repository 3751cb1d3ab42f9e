"""The receipt email on a phone: a shopper pays on an English phone and on an Arabic one, and
each receipt, opened at 390 px, fits the screen (a long order link once pushed it to 625-849
px, cutting the text off) and reads in the shopper's direction. Screenshots:
test-artifacts/mail-receipt-en.png, mail-receipt-ar.png."""

from __future__ import annotations

import email
import email.policy
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect

from tests.browser.conftest import checkout_ready, new_phone, run_demo, screenshot

pytestmark = pytest.mark.browser


def _receipt(folder: Path, seconds: float = 10.0) -> str:
    """The HTML part of the first email the demo's background sender writes to ``folder``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in folder.glob("*.eml"):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            html = message.get_body(preferencelist=("html",))
            assert html is not None
            return str(html.get_content())
        time.sleep(0.2)
    raise AssertionError(f"no email in {folder} after {seconds} s")


@pytest.mark.parametrize(("locale", "direction"), [("en-US", "ltr"), ("ar-EG", "rtl")])
def test_the_receipt_fits_a_phone_in_the_shoppers_direction(
    browser: Browser, playwright: Playwright, tmp_path: Path, locale: str, direction: str
) -> None:
    folder = tmp_path / "mail"
    with run_demo(tmp_path, mail_dir=str(folder)) as demo:
        phone = new_phone(browser, playwright, locale=locale)
        page = phone.new_page()
        page.goto(demo.bb.checkout_link("BEANS-GUJI-250", quantity=2))
        checkout_ready(page)
        page.locator("#pay-wallet").tap()
        expect(page.locator(".done h1")).to_be_visible()
        number = page.locator(".order-number").inner_text().strip()

        mail = phone.new_page()  # a mail app's fresh view, not the checkout's scaled one
        mail.set_content(_receipt(folder))
        assert number in mail.content()
        assert mail.evaluate("getComputedStyle(document.body).direction") == direction
        width = mail.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the {locale} receipt is {width} px wide on a 390 px phone"
        screenshot(mail, f"mail-receipt-{locale[:2]}")
        phone.close()
