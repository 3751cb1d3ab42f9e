"""Every surface, pasted into the demo publisher's pages, driven in Debian's Chromium: the
widget renders with price and stock, survives hostile host CSS, and a tap reaches a checkout
whose order carries the surface's attribution. Taps from the post to the paid order are
counted and asserted."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect
from sqlalchemy import select

from buybutton_server.db.models import OrderLine
from tests.browser.conftest import Demo, screenshot
from tests.conftest import orders, product

pytestmark = pytest.mark.browser

BLUE = "rgb(31, 94, 255)"


class Taps:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0

    def tap(self, target: str | object) -> None:
        locator = self.page.locator(target) if isinstance(target, str) else target
        locator.tap()  # type: ignore[attr-defined]
        self.count += 1


def csp_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    return errors


def pay_with_wallet(page: Page, taps: Taps) -> None:
    taps.tap("#pay-wallet")
    expect(page.locator(".done h1")).to_contain_text("Thank you")


def only_order(demo: Demo):  # type: ignore[no-untyped-def]
    [order] = orders(demo.sessions, "paid")
    return order


@pytest.fixture
def desktop(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.mark.parametrize("hostile", [False, True])
def test_blog_button_survives_hostile_css_and_pays_in_two_taps(
    phone: BrowserContext, demo: Demo, hostile: bool
) -> None:
    page = phone.new_page()
    errors = csp_errors(page)
    page.goto(demo.post + ("?hostile" if hostile else ""))
    button = page.locator('a[data-buybutton-sku="GRINDER-02"]')
    expect(button).to_contain_text("Buy the grinder · $64.00")
    assert button.evaluate("a => getComputedStyle(a).backgroundColor") == BLUE
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] > 100
    if hostile:
        # The host page really is hostile: its own links and buttons are wrecked.
        brand = page.locator("a.brand")
        assert "line-through" in brand.evaluate("a => getComputedStyle(a).textDecorationLine")
        screenshot(page, "blog-hostile-css-iphone13")
    taps = Taps(page)
    taps.tap(button)
    expect(page.locator("h1")).to_have_text("Burr Hand Grinder")
    pay_with_wallet(page, taps)
    assert taps.count == 2
    order = only_order(demo)
    assert (order.source, order.campaign, order.content) == (
        "blog",
        "pour-over-guide",
        "post-pour-over-at-home",
    )
    assert errors == []


def test_card_picks_a_variant_and_quantity_then_pays(phone: BrowserContext, demo: Demo) -> None:
    page = phone.new_page()
    errors = csp_errors(page)
    page.goto(demo.post)
    card = page.locator("buybutton-widget").filter(
        has=page.locator('a[data-buybutton-sku="BEANS-GUJI-250"]')
    )
    expect(card.locator(".t")).to_have_text("Ethiopia Guji Whole Beans, 250 g")
    expect(card.locator("p").nth(1)).to_have_text("$16.50")
    expect(card.get_by_text("In stock")).to_be_visible()
    card.scroll_into_view_if_needed()
    screenshot(page, "blog-card-iphone13")
    card.get_by_label("Option").select_option("BEANS-GUJI-1000")
    expect(card.locator(".t")).to_have_text("Ethiopia Guji Whole Beans, 1 kg")
    expect(card.locator("p").nth(1)).to_have_text("$52.00")
    card.get_by_label("Quantity").select_option("2")
    taps = Taps(page)
    taps.tap(card.get_by_role("link", name="Add to my order"))
    expect(page.locator("h1")).to_have_text("Ethiopia Guji Whole Beans, 1 kg")
    # An en-US phone starts on the United States: $5.00 standard shipping on $104.00.
    expect(page.locator("#t-subtotal")).to_have_text("$104.00")
    expect(page.locator("#total")).to_have_text("$109.00")
    pay_with_wallet(page, taps)
    assert taps.count == 2  # plus the two choices, which a shopper who wants 250 g skips
    order = only_order(demo)
    with demo.sessions() as session:
        line = session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
    assert line is not None and (line.sku, line.quantity) == ("BEANS-GUJI-1000", 2)
    # The wallet's address is in California: US-West $6.00 and 7.25 % sales tax on top.
    assert (order.subtotal_amount, order.total_amount, order.source) == (10400, 11754, "blog")
    assert product(demo.sessions, "BEANS-GUJI-1000").on_hand == 10
    assert errors == []


def test_the_card_reserves_its_space_so_the_post_does_not_jump(
    phone: BrowserContext, demo: Demo
) -> None:
    page = phone.new_page()
    page.add_init_script(
        """window.__shift = 0;
        new PerformanceObserver(list => {
          for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shift += e.value;
        }).observe({type: "layout-shift", buffered: true});"""
    )
    page.goto(demo.post)
    expect(page.locator("buybutton-widget .s")).to_have_text("In stock")
    page.wait_for_timeout(500)
    shift = page.evaluate("window.__shift")
    assert shift < 0.05, f"cumulative layout shift {shift:.3f}"


def test_video_moments_appear_at_their_time_and_pay(phone: BrowserContext, demo: Demo) -> None:
    page = phone.new_page()
    errors = csp_errors(page)
    page.goto(f"{demo.blog}/videos/pour-over")
    video = page.locator("video")
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    grinder = page.locator('a[data-buybutton-sku="GRINDER-02"]')
    dripper = page.locator('a[data-buybutton-sku="DRIPPER-01"]')
    video.evaluate("v => { v.currentTime = 10; }")
    expect(grinder).to_be_visible()
    expect(dripper).to_be_hidden()
    expect(page.get_by_text("$64.00")).to_be_visible()
    screenshot(page, "video-moment-iphone13")
    video.evaluate("v => { v.currentTime = 3; }")
    expect(dripper).to_be_visible()
    expect(grinder).to_be_hidden()
    taps = Taps(page)
    taps.tap(dripper)
    expect(page.locator("h1")).to_have_text("Ceramic Pour-Over Dripper")
    pay_with_wallet(page, taps)
    assert taps.count == 2
    order = only_order(demo)
    assert (order.source, order.content) == ("video", "yt-pour-over")
    assert errors == []


def test_video_description_short_links_pay(phone: BrowserContext, demo: Demo) -> None:
    page = phone.new_page()
    page.goto(f"{demo.blog}/videos/pour-over")
    line = page.locator("#description").inner_text().splitlines()[1]
    assert line.startswith("0:09 Burr Hand Grinder: ")
    page.goto(line.rsplit(" ", 1)[1])  # pasted into the player's description, then tapped
    taps = Taps(page)
    pay_with_wallet(page, taps)
    assert (only_order(demo).source, only_order(demo).content) == ("youtube", "yt-pour-over")


@pytest.mark.parametrize("hostile", [False, True])
def test_social_short_link_pays_in_two_taps(
    phone: BrowserContext, demo: Demo, hostile: bool
) -> None:
    page = phone.new_page()
    page.goto(f"{demo.blog}/social" + ("?hostile" if hostile else ""))
    post = page.locator('article[data-source="tiktok"]')
    taps = Taps(page)
    taps.tap(post.locator("a.short-link"))
    expect(page.locator("h1")).to_have_text("Ethiopia Guji Whole Beans, 250 g")
    assert "/c/" in page.url, "one redirect, straight to checkout"
    pay_with_wallet(page, taps)
    assert taps.count == 2
    order = only_order(demo)
    assert (order.source, order.content) == ("tiktok", "tt-guji-tasting")


def test_qr_code_on_the_poster_is_the_short_link(phone: BrowserContext, demo: Demo) -> None:
    page = phone.new_page()
    page.goto(f"{demo.blog}/social")
    qr = page.locator(".qr-poster img")
    expect(qr).to_have_attribute("alt", "QR code: buy Ceramic Pour-Over Dripper")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")


def test_newsletter_needs_no_javascript_and_arrives_prefilled(
    browser: Browser, playwright: Playwright, demo: Demo
) -> None:
    context = browser.new_context(**playwright.devices["iPhone 13"], java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{demo.blog}/newsletter?subscriber=ana@example.com")
    assert page.locator("script").count() == 0
    screenshot(page, "newsletter-iphone13")
    taps = Taps(page)
    with context.expect_page() as opened:  # mail clients open links in the browser
        taps.tap(page.get_by_role("link", name="Buy now"))
    page = opened.value
    taps.page = page
    expect(page.locator('input[name="email"]')).to_have_value("ana@example.com")
    # Without script the page cannot ask the wallet's address for its shipping and tax
    # before paying: the first tap prices it and shows the total (nothing is charged), the
    # second pays it, as a real wallet's sheet shows the total before the shopper confirms.
    taps.tap("#pay-wallet")
    expect(page.locator("#alert")).to_contain_text("Check the total and pay")
    assert orders(demo.sessions, "paid") == []
    taps.tap("#pay-wallet")
    expect(page.locator(".done h1")).to_contain_text("Thank you")
    assert taps.count == 3
    order = only_order(demo)
    assert (order.email, order.source, order.campaign, order.content) == (
        "ana@example.com",
        "email",
        "november-letter",
        "issue-42",
    )
    context.close()


def test_wide_screens_check_out_in_an_overlay_and_stay_on_the_post(
    desktop: BrowserContext, demo: Demo
) -> None:
    page = desktop.new_page()
    page.goto(demo.post)
    button = page.locator('a[data-buybutton-sku="DRIPPER-01"]')
    expect(button).to_contain_text("$28.00")
    button.click()
    dialog = page.locator("dialog")
    expect(dialog).to_be_visible()
    checkout = page.frame_locator("dialog iframe")
    expect(checkout.locator("h1")).to_have_text("Ceramic Pour-Over Dripper")
    screenshot(page, "overlay-checkout-desktop")
    checkout.locator("#pay-wallet").click()
    expect(checkout.locator(".done h1")).to_contain_text("Thank you")
    assert page.url == demo.post, "the post never left the screen"
    # Escape closes the dialog even with the focus inside the checkout frame.
    checkout.locator(".done h1").click()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(button).to_be_focused()
    assert only_order(demo).source == "blog"


@pytest.mark.parametrize("path", ["/blog/pour-over-at-home", "/videos/pour-over", "/social"])
def test_axe_finds_no_violations_in_our_widgets(
    phone: BrowserContext, demo: Demo, path: str
) -> None:
    page = phone.new_page()
    page.goto(demo.blog + path)
    page.wait_for_timeout(600)
    if path.startswith("/videos"):
        page.locator("video").evaluate("v => { v.currentTime = 10; }")
        page.wait_for_timeout(200)
    assert_no_axe_violations(page)


def assert_no_axe_violations(page: Page) -> None:
    results = Axe().run(page)
    found = [
        (v["id"], v["help"], [node["target"] for node in v["nodes"]])
        for v in results.response["violations"]
    ]
    assert found == [], "\n".join(map(str, found))


def test_axe_finds_no_violations_on_checkout(phone: BrowserContext, demo: Demo) -> None:
    page = phone.new_page()
    page.goto(demo.bb.checkout_link("BEANS-GUJI-250"))
    assert_no_axe_violations(page)


def test_the_close_button_closes_the_overlay(desktop: BrowserContext, demo: Demo) -> None:
    page = desktop.new_page()
    page.goto(demo.post)
    button = page.locator('a[data-buybutton-sku="GRINDER-02"]')
    expect(button).to_contain_text("$64.00")
    button.click()
    expect(page.frame_locator("dialog iframe").locator("h1")).to_have_text("Burr Hand Grinder")
    page.get_by_role("button", name="Close checkout").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(button).to_be_focused()


def test_keyboard_reaches_and_opens_the_button(desktop: BrowserContext, demo: Demo) -> None:
    page = desktop.new_page()
    page.goto(demo.post)
    expect(page.locator('a[data-buybutton-sku="DRIPPER-01"]')).to_contain_text("$28.00")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.localName") == "buybutton-widget":
            break
    focused = page.locator('a[data-buybutton-sku="DRIPPER-01"]')
    expect(focused).to_be_focused()
    outline = focused.evaluate("a => getComputedStyle(a).outlineStyle")
    assert outline == "solid", "a visible focus ring"
    page.keyboard.press("Enter")
    expect(page.frame_locator("dialog iframe").locator("h1")).to_have_text(
        "Ceramic Pour-Over Dripper"
    )


def test_snippet_builder_previews_live_and_copies_in_one_click(
    browser: Browser, demo: Demo
) -> None:
    from buybutton_server.db import write_session
    from buybutton_server.domain.admin_auth import create_admin

    with write_session(demo.sessions) as session:
        create_admin(session, "editor@blog.example", "a long enough password")
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=demo.shop)
    page = context.new_page()
    errors = csp_errors(page)
    page.goto(f"{demo.shop}/admin/snippets")
    page.fill('input[name="email"]', "editor@blog.example")
    page.fill('input[name="password"]', "a long enough password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("h1")).to_have_text("Snippet builder")
    page.select_option("#sku", "BEANS-GUJI-250")
    page.get_by_label("Product card").check()
    page.fill('input[name="campaign"]', "spring")
    expect(page.locator("#code")).to_have_value(re.compile(r'data-buybutton-layout="card"'))
    preview = page.frame_locator("#preview")
    expect(preview.locator(".t")).to_have_text("Ethiopia Guji Whole Beans, 250 g")
    screenshot(page, "snippet-builder-desktop")
    page.get_by_role("button", name="Copy code").click()
    expect(page.locator("#copied")).to_have_text("Copied to the clipboard.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#code").input_value()
    assert 'data-buybutton-sku="BEANS-GUJI-250"' in copied
    page.get_by_label("Social post or chat (short link)").check()
    # Reading the builder mints nothing (issue 11 item 13): its button POSTs, then shows it.
    create = page.get_by_role("button", name="Create short link")
    expect(create).to_be_visible()
    create.click()
    expect(page.locator("#code")).to_have_value(re.compile(r"/l/[A-Za-z0-9]{10}"))
    assert errors == []
    context.close()
