"""The product card inside a WordPress post, under exactly WordPress's sandbox (item 25).

WordPress (wp-includes/embed.php, ``wp_filter_oembed_result``) rewrites the iframe of every
oEmbed answer from a provider it does not trust: it keeps only ``src``, ``width``,
``height``, ``frameborder``, ``marginwidth``, ``marginheight``, ``scrolling`` and ``title``,
adds ``class="wp-embedded-content" sandbox="allow-scripts" security="restricted"``, appends
``#?secret=<10 letters and digits>`` to ``src`` and the same secret as ``data-secret``. Its
``wp-embed.js`` on the post then listens for ``{secret, message, value}`` messages. The
host page below does both, with a small faithful re-implementation of wp-embed.js (the
WordPress 6 version: shape check, secret and ``e.source`` match, height clamped to
200-1000, links followed only over http(s), to the frame's own host, while the frame has
the focus, by navigating the top window).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from html import escape
from html.parser import HTMLParser

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.browser.conftest import Demo, screenshot
from tests.conftest import orders
from tests.live_server import LiveServers, free_port

pytestmark = pytest.mark.browser

POST_PATH = "/2025/05/pour-over-at-home/"
KSES_IFRAME = ("src", "width", "height", "frameborder", "marginwidth", "marginheight")
KSES_IFRAME += ("scrolling", "title")

# What wp-includes/js/wp-embed.js does on the post, re-written for the test.
WP_EMBED_JS = """
(function (window, document) {
  'use strict';
  if (!document.querySelector || !window.addEventListener || typeof URL === 'undefined') return;
  window.wp = window.wp || {};
  if (window.wp.receiveEmbedMessage) return;
  window.wp.receiveEmbedMessage = function (e) {
    var data = e.data;
    if (!(data || data.secret || data.message || data.value) ||
        /[^a-zA-Z0-9]/.test(data.secret)) return;
    var iframes = document.querySelectorAll('iframe[data-secret="' + data.secret + '"]');
    var blockquotes = document.querySelectorAll('blockquote[data-secret="' + data.secret + '"]');
    var allowedProtocols = /^https?:$/i;
    var i, source, height, sourceURL, targetURL;
    for (i = 0; i < blockquotes.length; i++) blockquotes[i].style.display = 'none';
    for (i = 0; i < iframes.length; i++) {
      source = iframes[i];
      if (e.source !== source.contentWindow) continue;
      source.removeAttribute('style');
      if (data.message === 'height') {
        height = parseInt(data.value, 10);
        if (height > 1000) height = 1000; else if (~~height < 200) height = 200;
        source.height = height;
      } else if (data.message === 'link') {
        sourceURL = new URL(source.getAttribute('src'));
        targetURL = new URL(data.value);
        if (allowedProtocols.test(targetURL.protocol) && targetURL.host === sourceURL.host &&
            document.activeElement === source) {
          window.top.location.href = data.value;
        }
      }
    }
  };
  function onLoad() {
    var iframes = document.querySelectorAll('iframe.wp-embedded-content'), i, source, secret;
    for (i = 0; i < iframes.length; i++) {
      source = iframes[i];
      secret = source.getAttribute('data-secret');
      if (!secret) {
        secret = Math.random().toString(36).substring(2, 12);
        source.src += '#?secret=' + secret;
        source.setAttribute('data-secret', secret);
      }
      source.contentWindow.postMessage({ message: 'ready', secret: secret }, '*');
    }
  }
  window.addEventListener('message', window.wp.receiveEmbedMessage, false);
  document.addEventListener('DOMContentLoaded', onLoad, false);
})(window, document);
"""


class _FirstIframe(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: list[tuple[str, str | None]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "iframe" and self.attrs is None:
            self.attrs = attrs


def wordpress_iframe(oembed_html: str, secret: str) -> str:
    """``wp_filter_oembed_result`` applied to our oEmbed ``html``."""
    parser = _FirstIframe()
    parser.feed(oembed_html)
    assert parser.attrs is not None, oembed_html
    kept = {name: value or "" for name, value in parser.attrs if name in KSES_IFRAME}
    kept["src"] += f"#?secret={secret}"
    attributes = " ".join(f'{name}="{escape(value)}"' for name, value in kept.items())
    return (
        '<iframe class="wp-embedded-content" sandbox="allow-scripts" security="restricted" '
        f'{attributes} data-secret="{secret}"></iframe>'
    )


def host_page(iframe: str, *, wp_embed: bool = True) -> str:
    script = f"<script>{WP_EMBED_JS}</script>" if wp_embed else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pour-over at home | Slow Coffee</title></head>
<body><article class="post"><h1>Pour-over at home</h1>
<p>The dripper I use every morning:</p>
<figure class="wp-block-embed is-type-rich is-provider-buybutton wp-block-embed-buybutton">
<div class="wp-block-embed__wrapper">
{iframe}
</div></figure>
<p>Rinse the paper, then bloom for 30 seconds.</p></article>
{script}</body></html>"""


class WordPressSite:
    """A blog on ``localhost`` (another site than the shop on 127.0.0.1, both on loopback so
    Chromium's local network access checks let the post frame the shop)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.html = ""
        self.app = Starlette(routes=[Route(POST_PATH, self.post)])

    async def post(self, request: Request) -> Response:
        return HTMLResponse(self.html)

    @property
    def post_url(self) -> str:
        return f"http://localhost:{self.port}{POST_PATH}"

    def open_post(self, phone: BrowserContext, html: str) -> Page:
        self.html = html
        page = phone.new_page()
        page.goto(self.post_url)
        return page


@pytest.fixture
def wordpress() -> Iterator[WordPressSite]:
    site = WordPressSite()
    with LiveServers([(site.app, site.port)]):
        yield site


def oembed_html(page: Page, demo: Demo, sku: str) -> str:
    answer = page.request.get(f"{demo.shop}/oembed", params={"url": f"{demo.shop}/p/{sku}"})
    assert answer.ok, answer.text()
    return str(answer.json()["html"])


def test_buy_in_a_wordpress_sandbox_takes_the_post_to_checkout(
    phone: BrowserContext, demo: Demo, wordpress: WordPressSite
) -> None:
    probe = phone.new_page()
    secret = secrets.token_hex(5)  # ten letters and digits, as wp_generate_password(10)
    html = host_page(wordpress_iframe(oembed_html(probe, demo, "DRIPPER-01"), secret))
    probe.close()
    page = wordpress.open_post(phone, html)
    popups: list[Page] = []
    phone.on("page", lambda opened: popups.append(opened))
    card = page.frame_locator("iframe.wp-embedded-content")
    buy = card.locator("a.card-buy")
    expect(buy).to_be_visible()

    frame = next(f for f in page.frames if "/p/DRIPPER-01/embed" in f.url)
    assert frame.evaluate("window.origin") == "null"  # the sandbox is in force
    # The card told the post its height, and wp-embed.js sized the frame to it.
    body = frame.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
    expected = str(min(1000, max(200, body)))
    expect(page.locator("iframe.wp-embedded-content")).to_have_attribute("height", expected)
    screenshot(page, "wordpress-embed-iphone13")

    buy.tap()
    expect(page).to_have_url(re.compile(re.escape(demo.shop) + r"/c/"))
    expect(page.locator("h1")).to_have_text("Ceramic Pour-Over Dripper")
    page.locator("#pay-wallet").tap()
    expect(page.locator(".done h1")).to_contain_text("Thank you")
    assert popups == []  # the post's own tab went to checkout; no new tab was tried
    [order] = orders(demo.sessions)
    assert (order.status, order.source) == ("paid", "oembed")


def test_a_message_from_the_card_is_ignored_without_the_posts_secret(
    phone: BrowserContext, demo: Demo, wordpress: WordPressSite
) -> None:
    """The card speaks only with the secret WordPress gave it, and only to its own host."""
    probe = phone.new_page()
    frame_html = wordpress_iframe(oembed_html(probe, demo, "DRIPPER-01"), "a1b2c3d4e5")
    probe.close()
    # The post knows the frame by another secret: the card's messages match no iframe.
    other = frame_html.replace('data-secret="a1b2c3d4e5"', 'data-secret="zz9zz9zz9z"')
    page = wordpress.open_post(phone, host_page(other))
    buy = page.frame_locator("iframe.wp-embedded-content").locator("a.card-buy")
    buy.tap()
    page.wait_for_timeout(500)
    assert page.url == wordpress.post_url


def test_a_card_in_a_plain_iframe_still_opens_checkout_in_a_new_tab(
    phone: BrowserContext, demo: Demo, wordpress: WordPressSite
) -> None:
    """Other sites frame the oEmbed HTML as it is: no sandbox, no secret, a new tab."""
    probe = phone.new_page()
    page = wordpress.open_post(
        phone, host_page(oembed_html(probe, demo, "DRIPPER-01"), wp_embed=False)
    )
    probe.close()
    buy = page.frame_locator("iframe").locator("a.card-buy")
    with phone.expect_page() as opened:
        buy.tap()
    tab = opened.value
    expect(tab).to_have_url(re.compile(re.escape(demo.shop) + r"/c/"))
    expect(tab.locator("h1")).to_have_text("Ceramic Pour-Over Dripper")
    assert page.url == wordpress.post_url
