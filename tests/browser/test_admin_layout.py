"""The admin dashboard and the shop's front page fit the screen: a 1280 px desktop and an
iPhone 13, long campaign names included; nothing scrolls sideways, Revenue stays in view."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from buybutton_server.db import write_session
from buybutton_server.domain.admin_auth import create_admin
from tests.browser.conftest import Demo, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SHOTS = Path(os.environ.get("BUYBUTTON_SHOTS", "/tmp/p3-shots"))


def _no_sideways_scroll(page: Page) -> None:
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"


def _inside_viewport(page: Page, selector: str) -> None:
    box = page.locator(selector).first.bounding_box()
    width = page.evaluate("document.documentElement.clientWidth")
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (
        f"{selector} is cut off: {box} in {width} px"
    )


def _sign_in(page: Page, demo: Demo) -> None:
    page.goto(f"{demo.shop}/admin/dashboard")
    page.fill('input[name="email"]', "owner@shop.example")
    page.fill('input[name="password"]', PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("What sold what")


def test_dashboard_fits_a_desktop_and_a_phone(
    phone: BrowserContext, browser: Browser, demo: Demo
) -> None:
    # An order from a placement with long names: the widest row the table gets.
    shopper = phone.new_page()
    shopper.goto(
        demo.bb.checkout_link(
            "BEANS-GUJI-250",
            source="newsletter",
            campaign="black-friday-2026-vip-early-access-weekend",
            content="email-2026-11-27-morning-edition-with-a-long-slug",
        )
    )
    shopper.locator("#pay-wallet").tap()
    expect(shopper.locator(".done h1")).to_contain_text("Thank you")
    with write_session(demo.sessions) as session:
        create_admin(session, "owner@shop.example", PASSWORD)

    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = desk.new_page()
    _sign_in(admin, demo)
    _no_sideways_scroll(admin)
    table = admin.locator("#report")
    overflow = table.evaluate("t => [t.parentElement.scrollWidth, t.parentElement.clientWidth]")
    assert overflow[0] <= overflow[1], f"the table scrolls inside its box: {overflow}"
    _inside_viewport(admin, "#report th:last-child")
    _inside_viewport(admin, "#report tbody tr:first-child td.revenue")
    expect(admin.locator("#report th").last).to_have_text("Revenue")
    # What was paid: $16.50 + $6.00 shipping + $1.20 tax to the wallet's Californian address.
    expect(admin.locator("#kpi-revenue")).to_have_text("$23.70")
    screenshot(admin, "dashboard-1280")
    desk.close()

    mobile = phone.new_page()
    _sign_in(mobile, demo)
    _no_sideways_scroll(mobile)
    row = mobile.locator('tr[data-source="newsletter"]')
    revenue = row.locator("td.revenue")
    expect(revenue).to_be_visible()
    expect(revenue).to_have_text("$23.70")
    _inside_viewport(mobile, 'tr[data-source="newsletter"] td.revenue')
    assert "Revenue" in revenue.evaluate("td => getComputedStyle(td, '::before').content")
    SHOTS.mkdir(parents=True, exist_ok=True)
    mobile.screenshot(path=str(SHOTS / "dashboard-phone.png"), full_page=True)


def test_the_shop_front_page_fits_a_phone(phone: BrowserContext, demo: Demo) -> None:
    page = phone.new_page()
    answer = page.goto(f"{demo.shop}/")
    assert answer is not None and answer.status == 200
    expect(page.locator("h1")).to_have_text("Shop")
    expect(page.locator(".shop-item").first).to_be_visible()
    _no_sideways_scroll(page)
    page.locator(".shop-link").first.tap()
    expect(page.locator(".card-buy")).to_be_visible()
    page.go_back()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "storefront-phone.png"), full_page=True)
