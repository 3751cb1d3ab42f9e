"""The admin pages added for issues 13 and 14 on a phone: shipping zones, discount codes, the
stock sheet, product images, returns (the list and one return), the shop's settings and the
demo's mail. Each one passes axe, does not scroll sideways at 390 px, and is photographed
for a person to look at (test-artifacts/admin-phone-*.png)."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from buybutton_server.db import write_session
from buybutton_server.domain.admin_auth import create_admin
from buybutton_server.domain.api_keys import create_key
from tests.browser.conftest import Demo, checkout_ready
from tests.browser.test_admin_daily_work import _accessible_and_fitting

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
# What sticks out past the viewport's right edge (to name it when a page scrolls sideways).
WIDER_THAN_THE_PHONE = """() => [...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.admin-nav, .table-wrap'))  // these scroll inside their own box
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 5)
  .map(e => `${e.tagName}#${e.id}.${e.className} ${e.getBoundingClientRect().right}`)"""


def _returned_order(phone: BrowserContext, demo: Demo) -> int:
    """A paid, fulfilled order with a return asked for (through the API); the return's id."""
    shopper = phone.new_page()
    shopper.goto(demo.bb.checkout_link("BEANS-GUJI-250", quantity=2, source="instagram"))
    checkout_ready(shopper)
    shopper.locator("#pay-wallet").tap()
    expect(shopper.locator(".done h1")).to_contain_text("Thank you")
    number = shopper.locator(".order-number").inner_text().strip()
    with write_session(demo.sessions) as session:
        _, key = create_key(session, "write", "browser test")
    headers = {"Authorization": f"Bearer {key}"}
    api = f"{demo.shop}/api/v1"
    assert shopper.request.post(f"{api}/orders/{number}/fulfill", headers=headers, data={}).ok
    answer = shopper.request.post(
        f"{api}/orders/{number}/returns",
        headers=headers,
        data={"lines": [{"sku": "BEANS-GUJI-250", "quantity": 1}], "reason": "damaged"},
    )
    assert answer.ok, answer.text()
    shopper.close()
    return int(answer.json()["id"])


def _sign_in(page: Page, demo: Demo) -> None:
    with write_session(demo.sessions) as session:
        create_admin(session, "owner@shop.example", PASSWORD)
    page.goto(f"{demo.shop}/admin")
    page.get_by_label("Email").fill("owner@shop.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").tap()
    expect(page.locator("h1")).to_have_text("Orders")


def test_the_new_admin_pages_on_a_phone(phone: BrowserContext, demo: Demo) -> None:
    return_id = _returned_order(phone, demo)
    page = phone.new_page()
    _sign_in(page, demo)
    for name, path in [
        ("shipping", "/admin/shipping"),
        ("discounts", "/admin/discounts"),
        ("stock", "/admin/stock"),
        ("images", "/admin/products/DRIPPER-01/images"),
        ("returns", "/admin/returns"),
        ("return", f"/admin/returns/{return_id}"),
        ("settings", "/admin/settings"),
        ("mail", "/admin/mail"),
    ]:
        answer = page.goto(demo.shop + path)
        assert answer is not None and answer.status == 200, f"{path}: {answer and answer.status}"
        expect(page.locator("h1")).to_be_visible()
        wide = page.evaluate(WIDER_THAN_THE_PHONE)
        assert wide == [], f"{path}: wider than the phone: {wide}"
        _accessible_and_fitting(page, name)
    # ./dev demo keeps its mail in a folder; the order's receipt is listed at /admin/mail
    # and opens with the order in it.
    page.goto(demo.shop + "/admin/mail")
    receipt = page.locator("tr", has=page.locator('td[data-label="Kind"]', has_text="receipt"))
    expect(receipt).to_have_count(1)
    receipt.locator("a").first.tap()
    expect(page.locator("h1")).to_contain_text("Your receipt for order")
