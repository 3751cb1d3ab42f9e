"""Issue 13, item 7 on an iPhone: a checkout with the shop's full identity (logo, name, who
sells, policies, the terms line) that axe finds no fault with."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Route, expect

from buybutton_server.db import write_session
from buybutton_server.domain import shop_profile
from tests.browser.conftest import Demo, checkout_ready

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("BUYBUTTON_IDENTITY_SHOTS", "/tmp/shots-identity"))
LOGO = "https://logo.pourover.example/logo.svg"
IDENTITY = {
    "name": "Pour-Over Supply Co.",
    "support_email": "help@example.com",
    "logo_url": LOGO,
    "legal_address": "Pour-Over Supply Co.\n12 Harbour Street\n4000-123 Porto\nPortugal",
    "terms_url": "https://pourover.example/policies/terms",
    "returns_url": "https://pourover.example/policies/returns",
    "privacy_url": "https://pourover.example/policies/privacy",
}
# A stand-in for the merchant's logo host (the test has no network).
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="6" fill="#6b3e26"/>'
    '<circle cx="16" cy="16" r="8" fill="#f3e3c3"/></svg>'
)


def serve_logo(route: Route) -> None:
    route.fulfill(status=200, content_type="image/svg+xml", body=LOGO_SVG)


def test_a_checkout_with_the_shops_identity_passes_axe(phone: BrowserContext, demo: Demo) -> None:
    with write_session(demo.sessions) as session:
        shop_profile.save(session, IDENTITY, allow_http_origins=True)
    page = phone.new_page()
    page.route(LOGO, serve_logo)
    page.goto(demo.bb.checkout_link("DRIPPER-01"))
    checkout_ready(page)
    expect(page.locator(".shop-head")).to_contain_text("Pour-Over Supply Co.")
    expect(page.locator(".shop-logo")).to_have_attribute("alt", "Pour-Over Supply Co.")
    expect(page.locator("#terms-note")).to_contain_text("you accept the shop's terms")
    expect(page.locator(".shop-foot")).to_contain_text("12 Harbour Street")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "checkout-identity-iphone13.png"), full_page=True)
    page.screenshot(path=str(SHOTS / "checkout-identity-iphone13-top.png"))
    violations = [(v["id"], v["help"]) for v in Axe().run(page).response["violations"]]
    assert violations == []
