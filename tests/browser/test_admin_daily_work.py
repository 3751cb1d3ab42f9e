"""A merchant's daily work in the admin, on a phone (issue 12, "Done when").

Sign in on an iPhone viewport, find a paid order by the shopper's email, refund part of it,
fulfil it with a tracking number, change a product's price and stock, create an API key and
revoke it. The database shows each change, the revoked key stops working, and axe finds no
accessibility violations on any page visited. Nothing on these pages scrolls sideways."""

from __future__ import annotations

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import select

from buybutton_server.db import write_session
from buybutton_server.db.models import ApiKey, Order, Product, Refund
from buybutton_server.domain.admin_auth import create_admin
from tests.browser.conftest import Demo, checkout_ready, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SHOPPER = "rosa.parks@example.com"


def _accessible_and_fitting(page: Page, name: str) -> None:
    results = Axe().run(page)
    violations = [
        f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]
    assert not violations, f"axe on {name}: {violations}"
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{name} scrolls sideways: {widths}"
    screenshot(page, f"admin-phone-{name}")


def _paid_order(phone: BrowserContext, demo: Demo) -> str:
    shopper = phone.new_page()
    shopper.goto(demo.bb.checkout_link("BEANS-GUJI-250", source="instagram", email=SHOPPER))
    checkout_ready(shopper)
    shopper.locator("#pay-wallet").tap()
    expect(shopper.locator(".done h1")).to_contain_text("Thank you")
    shopper.close()
    with demo.sessions() as session:
        number = session.scalars(select(Order.number).where(Order.email == SHOPPER)).one()
    return number


def test_a_merchant_does_the_days_work_on_a_phone(phone: BrowserContext, demo: Demo) -> None:
    number = _paid_order(phone, demo)
    with write_session(demo.sessions) as session:
        create_admin(session, "owner@shop.example", PASSWORD)
    page = phone.new_page()

    # Sign in: the orders page is where the admin starts.
    page.goto(f"{demo.shop}/admin")
    expect(page.locator("h1")).to_have_text("Sign in")
    _accessible_and_fitting(page, "sign-in")
    page.get_by_label("Email").fill("owner@shop.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").tap()
    expect(page.locator("h1")).to_have_text("Orders")

    # Find the paid order by the shopper's email.
    page.get_by_label("Customer email").fill("ROSA.PARKS@example")
    page.get_by_role("button", name="Search").tap()
    rows = page.locator("#orders tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(number)
    _accessible_and_fitting(page, "orders")
    rows.first.get_by_role("link", name=number).tap()
    expect(page.locator("#order-status")).to_have_text("paid")
    _accessible_and_fitting(page, "order")

    # Refund part of it, typed in major units.
    page.locator("#refund-amount").fill("5.00")
    page.get_by_role("button", name="Refund", exact=True).tap()
    expect(page.locator("#notice")).to_be_visible()
    with demo.sessions() as session:
        refunds = session.scalars(
            select(Refund.amount).join(Order).where(Order.number == number)
        ).all()
    assert refunds == [500]

    # Fulfil it with a tracking number.
    page.locator("#fulfil-carrier").select_option(label="DHL")
    page.locator("#fulfil-tracking-number").fill("JJD000390007788")
    page.get_by_role("button", name="Mark fulfilled").tap()
    expect(page.locator("#notice")).to_be_visible()
    with demo.sessions() as session:
        order = session.scalars(select(Order).where(Order.number == number)).one()
        assert (order.carrier, order.tracking_number) == ("DHL", "JJD000390007788")
        assert order.fulfilled_at is not None and order.tracking_url.startswith("https://")
    _accessible_and_fitting(page, "order-fulfilled")

    # Change a product's price and its stock.
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Products").tap()
    expect(page.locator("h1")).to_have_text("Products")
    _accessible_and_fitting(page, "products")
    page.goto(f"{demo.shop}/admin/products/DRIPPER-01")
    page.locator("#product-price").fill("31.50")
    page.get_by_role("button", name="Save changes").tap()
    expect(page.locator("#notice")).to_be_visible()
    page.get_by_label("Units on hand").fill("42")
    page.get_by_role("button", name="Save stock").tap()
    expect(page.locator("#notice")).to_be_visible()
    with demo.sessions() as session:
        product = session.scalars(select(Product).where(Product.sku == "DRIPPER-01")).one()
        assert (product.price_amount, product.on_hand) == (3150, 42)
    _accessible_and_fitting(page, "product")

    # Create an API key (shown once), use it, revoke it: it stops working.
    page.goto(f"{demo.shop}/admin/keys")
    page.get_by_label("Name").fill("Warehouse sync")
    page.get_by_role("button", name="Create the key").tap()
    expect(page.locator("#new-key")).to_be_visible()
    key = page.locator("#new-key").input_value()
    assert key.startswith("bb_")
    _accessible_and_fitting(page, "key-created")
    url = f"{demo.shop}/api/v1/products/DRIPPER-01"
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(url, headers=headers).status_code == 200
    page.goto(f"{demo.shop}/admin/keys")
    page.get_by_role("link", name="Revoke Warehouse sync").tap()
    expect(page.locator("h1")).to_contain_text("Revoke the key")
    _accessible_and_fitting(page, "key-revoke")
    page.get_by_role("button", name="Revoke the key").tap()
    expect(page.locator("#notice")).to_be_visible()
    with demo.sessions() as session:
        assert session.scalars(select(ApiKey.revoked_at)).one() is not None
    assert httpx.get(url, headers=headers).status_code == 401
