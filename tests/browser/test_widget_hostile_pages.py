"""The widget on other people's pages (issue 11, items 15 and 20-24): host rules with
``!important``, a host outline that starts at ``<h1>``, snippets added after load, a page
address that carries personal data, a page with no styles of its own, and a card that paints
with the page."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page, expect

from buybutton.snippets import CardFacts
from tests.browser.conftest import Demo, screenshot

pytestmark = pytest.mark.browser

BEANS = "Ethiopia Guji Whole Beans, 250 g"
LAYOUT_SHIFT = """window.__shift = 0;
new PerformanceObserver(list => {
  for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shift += e.value;
}).observe({type: "layout-shift", buffered: true});"""


def beans_page(demo: Demo) -> str:
    return f"{demo.blog}/blog/beans-for-beginners"


def test_important_host_rules_do_not_hide_the_widget(phone: BrowserContext, demo: Demo) -> None:
    """demo_site/assets/important.css: ``[class*="buy"]``, ``span``, the fallback link's
    attributes, the host element's name and ``article :not(...)``, all ``display: none
    !important``."""
    page = phone.new_page()
    page.goto(demo.post + "?important")
    assert page.evaluate("getComputedStyle(document.querySelector('p.kicker')).display") == "block"
    grinder = page.locator('a[data-buybutton-sku="GRINDER-02"]')
    expect(grinder).to_contain_text("Buy the grinder · $64.00")
    expect(grinder).to_be_visible()
    box = grinder.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] > 100
    card = page.locator("buybutton-widget").filter(
        has=page.locator('[data-buybutton-sku^="BEANS"]')
    )
    expect(card.locator(".t")).to_have_text(BEANS)
    expect(card.get_by_role("link", name="Add to my order")).to_be_visible()
    hosts = page.locator("buybutton-widget")
    assert hosts.count() == 4
    assert "none" not in hosts.evaluate_all("hs => hs.map(h => getComputedStyle(h).display)")
    screenshot(page, "blog-important-rules-iphone13")


def test_card_title_follows_the_hosts_outline(phone: BrowserContext, demo: Demo) -> None:
    """The article starts with <h1> and the card comes before any <h2>: a hard-coded <h3>
    skipped a level (axe heading-order). The title is a styled paragraph unless the snippet
    names a level."""
    page = phone.new_page()
    page.goto(beans_page(demo))
    expect(page.locator("buybutton-widget .s")).to_have_text("In stock")
    results = Axe().run(page, options={"runOnly": ["heading-order", "page-has-heading-one"]})
    found = [(v["id"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]]
    assert found == []
    assert page.get_by_role("heading").all_inner_texts() == ["Beans for beginners", "Storing them"]
    full = Axe().run(page)
    assert [v["id"] for v in full.response["violations"]] == []


def test_a_snippet_added_after_load_is_enhanced(phone: BrowserContext, demo: Demo) -> None:
    page = phone.new_page()
    page.goto(beans_page(demo))
    expect(page.locator("buybutton-widget .s")).to_have_text("In stock")
    button = demo.bb.embed_snippet("GRINDER-02", label="Late grinder", source="blog")
    card = demo.bb.card_snippet(
        "DRIPPER-01",
        label="Late dripper",
        heading=2,
        facts=CardFacts("Ceramic Pour-Over Dripper", "$28.00", f"{demo.blog}/images/dripper.svg"),
    )
    # As a single-page app or an infinite scroll would: markup inserted well after load.
    page.wait_for_timeout(300)
    page.evaluate(
        "html => document.querySelector('article').insertAdjacentHTML('beforeend', html)",
        button + "\n" + card,
    )
    late = page.get_by_role("link", name="Late grinder")
    expect(late).to_contain_text("Late grinder · $64.00")
    assert late.evaluate("a => a.getRootNode() instanceof ShadowRoot")
    expect(page.get_by_role("heading", level=2, name="Ceramic Pour-Over Dripper")).to_be_visible()
    expect(page.locator("[data-buybutton-card]")).to_have_count(0)


def return_of(page: Page, sku: str) -> str:
    href = page.locator(f'a[data-buybutton-sku="{sku}"]').get_attribute("href")
    assert href is not None
    [value] = parse_qs(urlsplit(href).query)["return"]
    return value


def test_return_address_has_no_query_or_fragment(phone: BrowserContext, demo: Demo) -> None:
    """A newsletter landing page with ?subscriber=<email> must not leak it into checkout."""
    page = phone.new_page()
    page.goto(demo.post + "?subscriber=ana%40example.com&utm_source=letter#comments")
    expect(page.locator('a[data-buybutton-sku="GRINDER-02"]')).to_contain_text("$64.00")
    for sku in ("GRINDER-02", "BEANS-GUJI-250"):
        assert return_of(page, sku) == demo.post
    page.locator('a[data-buybutton-sku="GRINDER-02"]').tap()
    expect(page.locator("h1")).to_have_text("Burr Hand Grinder")
    assert "ana" not in page.url and "subscriber" not in page.url


def test_video_fits_a_phone_on_a_page_with_no_styles(phone: BrowserContext, demo: Demo) -> None:
    page = phone.new_page()
    page.goto(f"{demo.blog}/videos/pour-over?plain")
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    width = page.evaluate("innerWidth")
    rect = page.locator("video").evaluate("v => v.getBoundingClientRect().toJSON()")
    assert rect["right"] <= width, f"video {rect['width']:.0f} px on a {width} px phone"
    ratio = rect["width"] / rect["height"]
    assert abs(ratio - 16 / 9) < 0.02, "the video keeps its shape"
    page.locator("video").evaluate("v => { v.currentTime = 10; }")
    expect(page.locator('a[data-buybutton-sku="GRINDER-02"]')).to_be_visible()
    box = page.locator("buybutton-widget").filter(has_text="Burr Hand Grinder").bounding_box()
    assert box is not None and box["x"] + box["width"] <= width


def test_the_card_paints_from_its_snippet_without_any_script(
    phone: BrowserContext, demo: Demo
) -> None:
    """The snippet carries image, title and price: with the shop's scripts never arriving, the
    reader still sees the product, its price and the link, at the card's final height."""
    page = phone.new_page()
    page.add_init_script(
        """window.__lcp = [];
        new PerformanceObserver(list => {
          for (const e of list.getEntries()) window.__lcp.push(e.element && e.element.localName);
        }).observe({type: "largest-contentful-paint", buffered: true});"""
    )
    page.route(f"{demo.shop}/widgets/**", lambda route: route.abort())
    page.goto(beans_page(demo))
    table = page.locator("table[data-buybutton-card]")
    expect(table.locator("img")).to_have_js_property("complete", True)
    assert table.locator("img").evaluate("i => i.naturalWidth > 0")
    expect(table).to_contain_text(BEANS)
    expect(table).to_contain_text("$16.50")
    expect(table.get_by_role("link", name="Add to my order")).to_be_visible()
    assert table.evaluate("t => t.offsetHeight") == 452
    assert page.evaluate("window.__lcp")[-1] == "img"


def test_the_card_is_the_largest_paint_without_waiting_and_nothing_moves(
    phone: BrowserContext, demo: Demo
) -> None:
    page = phone.new_page()
    page.add_init_script(
        LAYOUT_SHIFT
        + """window.__lcp = [];
        new PerformanceObserver(list => {
          for (const e of list.getEntries())
            window.__lcp.push({url: e.url, tag: e.element && e.element.localName,
                               start: e.startTime});
        }).observe({type: "largest-contentful-paint", buffered: true});"""
    )
    widget_requests: list[str] = []
    page.on("request", lambda r: widget_requests.append(r.url) if demo.shop in r.url else None)
    page.goto(beans_page(demo))
    expect(page.locator("buybutton-widget .s")).to_have_text("In stock")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__shift") == 0
    assert page.locator("buybutton-widget").evaluate("h => h.offsetHeight") == 452
    lcp = page.evaluate("window.__lcp")
    # The largest paint is the product image, one image candidate only: the card's copy, drawn
    # by the script later, is no larger than the snippet's own <img>, so it never takes over.
    images = [e["url"].rsplit("/", 1)[-1] for e in lcp if e["url"]]
    assert images == ["beans.svg"] and lcp[-1]["url"], json.dumps(lcp)
    # Core, card module and product JSON each fetched once: the preloads were used.
    paths = sorted(urlsplit(u).path for u in widget_requests)
    assert paths == [
        "/api/public/products/BEANS-GUJI-250",
        "/widgets/buybutton-card.js",
        "/widgets/buybutton.js",
    ]
