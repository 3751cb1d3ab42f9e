"""The funnel, end to end in Chromium: widgets seen on the demo pages, taps from two
placements, one payment, and the merchant's dashboard showing exactly that."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from buybutton_server.db import write_session
from buybutton_server.domain.admin_auth import create_admin
from tests.browser.conftest import Demo, screenshot

pytestmark = pytest.mark.browser


def test_dashboard_shows_the_funnel_the_shoppers_made(
    phone: BrowserContext, browser: Browser, demo: Demo
) -> None:
    # A reader of the blog sees the grinder's button and taps it, then leaves.
    page = phone.new_page()
    with page.expect_response(lambda r: "/api/public/events" in r.url) as beacon:
        page.goto(demo.post)
        page.locator('a[data-buybutton-sku="GRINDER-02"]').scroll_into_view_if_needed()
    assert beacon.value.status == 204
    page.locator('a[data-buybutton-sku="GRINDER-02"]').tap()
    expect(page.locator("h1")).to_have_text("Burr Hand Grinder")

    # Another reader taps the TikTok post's short link and pays with the wallet.
    other = phone.new_page()
    other.goto(f"{demo.blog}/social")
    other.locator('article[data-source="tiktok"] a.short-link').tap()
    other.locator("#pay-wallet").tap()
    expect(other.locator(".done h1")).to_contain_text("Thank you")

    with write_session(demo.sessions) as session:
        create_admin(session, "owner@shop.example", "correct horse battery")
    desk = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = desk.new_page()
    admin.goto(f"{demo.shop}/admin/dashboard")
    admin.fill('input[name="email"]', "owner@shop.example")
    admin.fill('input[name="password"]', "correct horse battery")
    admin.get_by_role("button", name="Sign in").click()
    expect(admin.locator("h1")).to_have_text("What sold what")
    screenshot(admin, "dashboard-desktop")

    def cells(source: str, content: str) -> list[str]:
        row = admin.locator(f'tr[data-source="{source}"][data-content="{content}"]')
        return [c.strip() for c in row.locator("td").all_inner_texts()]

    blog = cells("blog", "post-pour-over-at-home")
    tiktok = cells("tiktok", "tt-guji-tasting")
    # product, source, campaign, content, impressions, clicks, checkouts, paid, conversion, revenue
    assert blog[0] == "GRINDER-02" and int(blog[4]) >= 1
    assert blog[5:8] == ["1", "0", "0"] and blog[9] == "$0.00"
    assert tiktok[0] == "BEANS-GUJI-250"
    # Revenue is what was paid: $16.50 of beans, and the wallet's Californian address adds
    # $6.00 US-West shipping and 7.25 % sales tax ($1.20).
    assert tiktok[5:10] == ["1", "1", "1", "100.0%", "$23.70"]
    expect(admin.locator("#kpi-revenue")).to_have_text("$23.70")
    expect(admin.locator("#kpi-paid")).to_have_text("1")
    desk.close()
