"""Share flows (issue 16, item 6): the product page shares to WhatsApp, Telegram, Messenger,
X, Pinterest, email and the Web Share API, each through a short link attributed to the
channel; link previews are 1200x630 JPEGs under 300 KB at an immutable address; a feed's
landing page credits its channel."""

from __future__ import annotations

import html
import re
from io import BytesIO
from urllib.parse import parse_qs, unquote, urlsplit

from PIL import Image
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton.tokens import LinkSigner
from buybutton_server.db import write_session
from buybutton_server.domain import imaging, product_images
from buybutton_server.services import feeds_sharing
from tests.conftest import BASE_URL, SECRET, add_product

CHANNELS = ("whatsapp", "telegram", "messenger", "x", "pinterest", "email")


def _links(page: str) -> dict[str, str]:
    found = re.findall(r'class="share-link share-([a-z_]+)" href="([^"]+)"', page)
    return {channel: html.unescape(href) for channel, href in found}


def _short_url(channel: str, href: str) -> str:
    parts = urlsplit(href)
    query = parse_qs(parts.query)
    if channel == "whatsapp":
        return query["text"][0].rsplit(" ", 1)[1]
    if channel == "messenger":
        return query["link"][0]
    if channel == "email":
        return unquote(href).rsplit("\n", 1)[1]
    return query["url"][0]


def test_each_share_link_is_a_short_link_attributed_to_its_channel(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, description="A mug", brand="Brewline")
    page = client.get("/p/MUG-01").text
    links = _links(page)
    assert set(links) == set(CHANNELS)
    assert links["whatsapp"].startswith("https://wa.me/?text=")
    assert links["telegram"].startswith("https://t.me/share/url?")
    assert links["messenger"].startswith("fb-messenger://share/?")
    assert links["x"].startswith("https://x.com/intent/post?")
    assert links["pinterest"].startswith("https://www.pinterest.com/pin/create/button/?")
    assert links["email"].startswith("mailto:?subject=Stoneware%20Mug")
    signer = LinkSigner([SECRET])
    for channel, href in links.items():
        short = _short_url(channel, href)
        assert short.startswith(f"{BASE_URL}/l/"), (channel, short)
        hop = client.get(short.removeprefix(BASE_URL), follow_redirects=False)
        assert hop.status_code == 302
        link = signer.verify(hop.headers["location"].rsplit("/", 1)[1])
        assert (link.sku, link.source, link.content) == ("MUG-01", channel, "share")
    # The Web Share button (shown by the script where navigator.share exists) has its own.
    web = re.search(r'data-share-url="([^"]+)"', page)
    assert web and web.group(1).startswith(f"{BASE_URL}/l/")
    assert re.search(r"<li hidden data-web-share>", page), "hidden until the script shows it"
    # A second view reuses the same short links.
    assert _links(client.get("/p/MUG-01").text) == links


def test_the_share_script_carries_the_nonce_and_no_inline_handlers(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    answer = client.get("/p/MUG-01")
    nonce = re.search(r"'nonce-([^']+)'", answer.headers["content-security-policy"])
    assert nonce and f'<script nonce="{nonce.group(1)}">' in answer.text
    assert "navigator.share" in answer.text
    assert not re.search(r"\son[a-z]+=", answer.text) and " style=" not in answer.text


def _preview_path(page: str) -> str:
    found = re.search(r'<meta property="og:image" content="([^"]+)">', page)
    assert found
    return found.group(1).removeprefix(BASE_URL)


def _check_jpeg(body: bytes) -> None:
    assert len(body) < 300_000
    with Image.open(BytesIO(body)) as image:
        assert image.format == "JPEG" and image.size == (1200, 630)


def test_the_link_preview_is_a_1200x630_jpeg_drawn_from_the_stored_picture(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    noisy = Image.effect_noise((1600, 1600), 120).convert("RGB")  # hard to compress
    out = BytesIO()
    noisy.save(out, "PNG")
    with write_session(sessions) as session:
        product_images.add_image(
            session, "MUG-01", imaging.normalize(out.getvalue()), "A mug", base_url=BASE_URL
        )
    page = client.get("/p/MUG-01").text
    path = _preview_path(page)
    assert re.fullmatch(r"/media/previews/MUG-01/[0-9a-f]{24}\.jpg", path)
    answer = client.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    assert "immutable" in answer.headers["cache-control"]
    _check_jpeg(answer.content)
    assert client.get(path).content == answer.content  # cached, the same bytes


def test_without_a_stored_picture_the_preview_is_a_card_and_follows_the_product(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    path = _preview_path(client.get("/p/MUG-01").text)
    _check_jpeg(client.get(path).content)
    add_product(sessions, price="30.00")  # the price is drawn: a new address
    new_path = _preview_path(client.get("/p/MUG-01").text)
    assert new_path != path
    moved = client.get(path, follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == new_path
    for wrong in ("/media/previews/NOPE/" + "0" * 24 + ".jpg", path.replace(".jpg", ".png")):
        assert client.get(wrong).status_code == 404


def test_a_feeds_landing_page_credits_the_channel(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    signer = LinkSigner([SECRET])
    for given, expected in (("google_shopping", "google_shopping"), ("<x>", "web"), ("", "web")):
        page = client.get("/p/MUG-01", params={"source": given}).text
        buy = re.search(r'class="pay card-buy" href="([^"]+)"', page)
        assert buy
        assert signer.verify(html.unescape(buy.group(1)).rsplit("/", 1)[1]).source == expected


def test_the_order_page_partial_renders_a_share_block(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """``_share_links.html`` is meant for the order page too (its owner includes it)."""
    add_product(sessions)
    block = feeds_sharing.share_block(sessions, BASE_URL, "MUG-01", "Stoneware Mug", "")
    templates = client.app.state.templates  # type: ignore[attr-defined]
    rendered = templates.get_template("_share_links.html").render(share=block, csp_nonce="n1")
    assert set(_links(rendered)) == set(CHANNELS)
    assert '<script nonce="n1">' in rendered
