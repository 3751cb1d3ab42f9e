"""The demo blog's pages without a browser: the shop-the-look post (issue 13, item 1) signs one
multi-item link for its three products, and that link opens one checkout on the demo shop."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.tokens import LinkSigner
from buybutton_demo_site.app import LOOK
from buybutton_server import Settings
from buybutton_server.runner import build_demo

SECRET = "demo-test-secret-0123456789abcdef"
SHOP = "http://127.0.0.1:8000"


@dataclass
class Demo:
    shop: TestClient
    blog: TestClient
    bb: BuyButton


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    settings = Settings(
        secret_keys=(SECRET,),
        database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        base_url=SHOP,
    )
    shop_app, blog_app, bb, blog_base = build_demo(settings, 8001)
    with (
        TestClient(shop_app, base_url=SHOP, follow_redirects=False) as shop,
        TestClient(blog_app, base_url=blog_base) as blog,
    ):
        yield Demo(shop, blog, bb)


def _buy_href(html: str) -> str:
    found = re.findall(r'<a class="look-buy" href="([^"]+)"', html)
    assert len(found) == 1, "one Buy for the whole look"
    return unescape(found[0])


def test_the_shop_the_look_post_renders_with_one_signed_multi_item_buy(demo: Demo) -> None:
    page = demo.blog.get("/blog/shop-the-look")
    assert page.status_code == 200
    assert "script-src" in page.headers["content-security-policy"]
    html = page.text
    assert "<h1>Shop the look: my coffee corner</h1>" in html
    assert html.count("<p>") >= 3  # a short article, not just a card
    assert 'style="' not in html  # the blog's CSP allows no inline style
    for title, quantity in (
        ("Ceramic Pour-Over Dripper", "1 &times; $28.00"),
        ("Burr Hand Grinder", "1 &times; $64.00"),
        ("Ethiopia Guji Whole Beans, 250 g", "2 &times; $16.50"),
    ):
        assert title in html and quantity in html
    assert "Total <strong>$125.00</strong>" in html
    href = _buy_href(html)
    assert href.startswith(f"{SHOP}/c/")
    link = LinkSigner([SECRET]).verify(href.rsplit("/", 1)[1])
    assert link.lines == tuple(LOOK) and len(link.lines) == 3
    assert (link.source, link.campaign) == ("blog", "shop-the-look")
    # The blog's navigation leads to the post, from every page.
    assert 'href="/blog/shop-the-look"' in demo.blog.get("/blog/pour-over-at-home").text


def test_the_look_link_opens_one_checkout_with_three_lines_and_the_total(demo: Demo) -> None:
    href = _buy_href(demo.blog.get("/blog/shop-the-look").text)
    checkout = demo.shop.get(href.removeprefix(SHOP))
    assert checkout.status_code == 200, checkout.text
    html = checkout.text
    assert html.count('class="cart-line"') == 3
    for title in ("Ceramic Pour-Over Dripper", "Burr Hand Grinder", "Ethiopia Guji Whole Beans"):
        assert title in html
    # 1 x 28.00 + 1 x 64.00 + 2 x 16.50; shipping and tax follow once an address is typed.
    assert 'data-total="12500"' in html
    assert 'id="total">$125.00<' in html and 'id="pay-amount">$125.00<' in html
    assert 'id="quantity"' not in html  # each line's quantity is the signed one
