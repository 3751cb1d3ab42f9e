"""Short links, QR codes, product pages with unfurl tags, oEmbed, variants and the CLI."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from buybutton import BuyButton
from buybutton.cli import main
from buybutton.tokens import CheckoutLink, LinkSigner
from buybutton_server import Settings, create_app
from buybutton_server.db import write_session
from buybutton_server.db.models import OrderLine, ShortLink
from buybutton_server.domain.short_links import mint
from buybutton_server.domain.vocabulary import LOW_STOCK
from tests.conftest import (
    BASE_URL,
    GOOD_CARD,
    SECRET,
    add_product,
    attempt_key,
    orders,
    path_of,
)

SHIPPING = {"line1": "1 Main St", "city": "Oslo", "postal_code": "0150", "country": "Norway"}
BOTS = [
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "WhatsApp/2.23.20.0",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
]
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile"


class Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and (values.get("property") or values.get("name")):
            self.meta[values.get("property") or values["name"] or ""] = values.get("content") or ""
        if tag == "link":
            self.links.append(values)


def meta_of(html: str) -> Meta:
    parsed = Meta()
    parsed.feed(html)
    return parsed


def short_code(sessions: sessionmaker[Session], **fields: object) -> str:
    with write_session(sessions) as session:
        return mint(session, CheckoutLink(sku="MUG-01", **fields))  # type: ignore[arg-type]


def test_short_link_redirects_to_checkout_in_one_hop_and_keeps_prefill_out_of_urls(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    code = short_code(sessions, email="ana@example.com", name="Ana Lima", source="messenger")
    hop = client.get(f"/l/{code}", headers={"User-Agent": PHONE}, follow_redirects=False)
    assert hop.status_code == 302
    target = hop.headers["location"]
    assert target.startswith("/c/")
    assert "ana" not in target.lower() and "Lima" not in target
    link = LinkSigner([SECRET]).verify(target.removeprefix("/c/"))
    assert (link.email, link.name, link.short_code, link.source) == (None, None, code, "messenger")
    page = client.get(target)
    assert 'value="ana@example.com"' in page.text and 'value="Ana Lima"' in page.text
    client.post(target, data={"attempt": attempt_key(page.text), **SHIPPING, **GOOD_CARD})
    [order] = orders(sessions)
    assert (order.status, order.email, order.source) == ("paid", "ana@example.com", "messenger")


def test_a_short_code_cannot_lend_its_prefill_to_another_product(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions)
    add_product(sessions, sku="CUP-02", title="Cup")
    code = short_code(sessions, email="ana@example.com")
    signer = LinkSigner([SECRET])
    # Even a validly signed link that names the code for a different product gets no pre-fill.
    forged = signer.sign(CheckoutLink(sku="CUP-02", short_code=code))
    assert "ana@example.com" not in client.get(f"/c/{forged}").text


@pytest.mark.parametrize("agent", BOTS)
def test_link_preview_bots_get_open_graph_and_twitter_tags(
    client: TestClient, sessions: sessionmaker[Session], agent: str
) -> None:
    add_product(
        sessions, title='Mug "Deluxe" <b>', description="Hand thrown.", image_url="/img/mug.png"
    )
    code = short_code(sessions, source="instagram")
    page = client.get(f"/l/{code}", headers={"User-Agent": agent}, follow_redirects=False)
    assert page.status_code == 200
    tags = meta_of(page.text).meta
    assert tags["og:title"] == 'Mug "Deluxe" <b>'
    assert tags["og:description"].startswith("$24.00 · Hand thrown.")
    assert tags["og:image"] == f"{BASE_URL}/img/mug.png"
    assert tags["product:price:amount"] == "24.00"
    assert tags["product:price:currency"] == "USD"
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["twitter:data1"] == "$24.00"
    assert "<b>" not in page.text.split("<body")[1]
    # ...and the page still leads to checkout for a person who opens it in an in-app browser.
    assert re.search(r'href="http://shop\.test/c/[^"]+"', page.text)


def test_checkout_page_also_unfurls(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions)
    page = client.get(path_of(bb.checkout_link("MUG-01")))
    tags = meta_of(page.text).meta
    assert tags["og:title"] == "Stoneware Mug" and tags["twitter:data1"] == "$24.00"


def test_unknown_short_links_get_a_clear_page(client: TestClient) -> None:
    for path in ("/l/NoSuchCode1", "/l/x", "/l/%3Cscript%3E"):
        page = client.get(path)
        assert page.status_code == 404
        assert "This link is not valid" in page.text
    api = client.get("/l/NoSuchCode1", headers={"Accept": "application/json"})
    assert api.json()["error"]["code"] == "not_found"


def test_qr_codes_come_as_svg_and_png(client: TestClient, sessions: sessionmaker[Session]) -> None:
    add_product(sessions)
    code = short_code(sessions, source="qr")
    svg = client.get(f"/l/{code}/qr.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    root = ElementTree.fromstring(svg.content)
    assert root.tag.endswith("svg")
    png = client.get(f"/l/{code}/qr.png")
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert client.get(f"/l/{code}/qr.gif").status_code == 404


def test_qr_code_encodes_the_short_link(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    from buybutton_server.domain.short_links import qr_code

    add_product(sessions)
    code = short_code(sessions, source="qr")
    served = client.get(f"/l/{code}/qr.svg").content
    assert served == qr_code(f"{BASE_URL}/l/{code}", "svg"), "the code holds the short link"
    assert served != qr_code(f"{BASE_URL}/l/{code}x", "svg")


def test_minting_the_same_public_link_twice_reuses_its_code(
    sessions: sessionmaker[Session],
) -> None:
    from buybutton_server.domain.embeds import mint_short_link

    first = mint_short_link(sessions, CheckoutLink(sku="MUG-01", source="tiktok"))
    assert mint_short_link(sessions, CheckoutLink(sku="MUG-01", source="tiktok")) == first
    assert mint_short_link(sessions, CheckoutLink(sku="MUG-01", source="youtube")) != first
    personal = CheckoutLink(sku="MUG-01", source="tiktok", email="a@b.co")
    assert mint_short_link(sessions, personal) != mint_short_link(sessions, personal)


def test_product_page_carries_oembed_discovery(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions)
    page = client.get("/p/MUG-01")
    assert page.status_code == 200
    alternates = {
        link["type"]: link["href"] for link in meta_of(page.text).links if link.get("type")
    }
    assert alternates["application/json+oembed"] == (
        f"{BASE_URL}/oembed?url=http%3A%2F%2Fshop.test%2Fp%2FMUG-01&format=json"
    )
    assert "text/xml+oembed" in alternates
    assert client.get("/p/NOPE").status_code == 404


@pytest.mark.parametrize(
    ("stock", "note"),
    [(LOW_STOCK, f"Only {LOW_STOCK} left"), (LOW_STOCK + 1, None), (0, "Sold out")],
)
def test_product_card_says_low_stock_at_the_shops_one_threshold(
    client: TestClient, sessions: sessionmaker[Session], stock: int, note: str | None
) -> None:
    add_product(sessions, stock=stock)
    page = client.get("/p/MUG-01").text
    if note is None:
        assert "stock-note" not in page
    else:
        assert f'<p class="stock-note">{note}</p>' in page


def _check_oembed_rich(answer: dict[str, object]) -> None:
    """The fields oEmbed 1.0 (section 2.3.4) requires of a ``rich`` response."""
    assert answer["version"] == "1.0"
    assert answer["type"] == "rich"
    for name in ("html", "width", "height"):
        assert name in answer, name
    assert isinstance(answer["width"], int) and isinstance(answer["height"], int)
    thumbs = {"thumbnail_url", "thumbnail_width", "thumbnail_height"} & set(answer)
    assert thumbs in (set(), {"thumbnail_url", "thumbnail_width", "thumbnail_height"})


def test_oembed_answers_json_and_xml_per_the_spec(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    add_product(sessions, title='Mug "<b>"', image_url="/img/mug.png")
    url = f"{BASE_URL}/p/MUG-01"
    answer = client.get("/oembed", params={"url": url})
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    _check_oembed_rich(body)
    assert '<iframe src="http://shop.test/p/MUG-01/embed"' in body["html"]
    assert 'title="Mug &quot;&lt;b&gt;&quot;"' in body["html"]
    small = client.get("/oembed", params={"url": url, "maxwidth": "200", "maxheight": "150"})
    assert (small.json()["width"], small.json()["height"]) == (200, 150)
    xml = client.get("/oembed", params={"url": url, "format": "xml"})
    assert xml.headers["content-type"].startswith("text/xml")
    tree = ElementTree.fromstring(xml.content)
    assert tree.tag == "oembed"
    as_dict = {child.tag: child.text for child in tree}
    assert as_dict["html"] == body["html"] and as_dict["type"] == "rich"
    # Errors the spec names: 404 for a URL we do not know, 501 for a format we do not speak.
    assert client.get("/oembed", params={"url": url, "format": "yaml"}).status_code == 501
    assert client.get("/oembed", params={"url": "https://evil.example/p/MUG-01"}).status_code == 404
    assert client.get("/oembed", params={"url": f"{BASE_URL}/p/NOPE"}).status_code == 404
    assert client.get("/oembed").status_code == 404


def test_embed_card_may_be_framed_anywhere_but_checkout_may_not(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions)
    card = client.get("/p/MUG-01/embed")
    assert "frame-ancestors *" in card.headers["content-security-policy"]
    assert "x-frame-options" not in card.headers
    buy = re.search(r'href="(http://shop\.test/c/[^"]+)" target="_blank"', card.text)
    assert buy is not None
    assert LinkSigner([SECRET]).verify(buy.group(1).rsplit("/", 1)[1]).source == "oembed"
    checkout = client.get(path_of(bb.checkout_link("MUG-01")))
    assert "frame-ancestors 'none'" in checkout.headers["content-security-policy"]


def test_micawber_embeds_our_product_urls(
    settings: Settings, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """A third-party oEmbed consumer, over real HTTP, turns a pasted product URL into our card."""
    from micawber import Provider, ProviderRegistry, parse_text

    from tests.live_server import LiveServers, free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    live = replace(settings, base_url=base)
    add_product(sessions, title="Stoneware Mug")
    with LiveServers([(create_app(live), port)]):
        registry = ProviderRegistry()
        registry.register(re.escape(base) + r"/p/\S+", Provider(f"{base}/oembed"))
        answer = registry.request(f"{base}/p/MUG-01")
        _check_oembed_rich(answer)
        assert answer["title"] == "Stoneware Mug · $24.00"
        post = f"My favourite mug:\n{base}/p/MUG-01\nEnjoy!"
        html = parse_text(post, registry)
    assert f'<iframe src="{base}/p/MUG-01/embed"' in html


def test_variant_choice_stays_inside_the_signed_products_group(
    client: TestClient, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(
        sessions, sku="BEANS-250", title="Beans", variant_group="BEANS", variant_label="250 g"
    )
    add_product(
        sessions,
        sku="BEANS-1KG",
        title="Beans",
        price="52.00",
        variant_group="BEANS",
        variant_label="1 kg",
    )
    add_product(sessions, sku="GOLD-BAR", title="Gold", price="9999.00")
    path = path_of(bb.checkout_link("BEANS-250", source="blog", max_quantity=10))
    page = client.get(path)
    assert "?variant=BEANS-1KG" in page.text and "1 kg · $52.00" in page.text
    chosen = client.get(path + "?variant=BEANS-1KG&quantity=2")
    assert "$52.00" in chosen.text and "$104.00" in chosen.text
    form = {"attempt": attempt_key(chosen.text), "quantity": "2", **SHIPPING, **GOOD_CARD}
    form["email"], form["name"] = "bo@example.com", "Bo"
    client.post(path + "?variant=BEANS-1KG", data=form)
    [order] = orders(sessions)
    with sessions() as session:
        line = session.scalar(select(OrderLine).where(OrderLine.order_id == order.id))
        assert line is not None
    assert (order.total_amount, line.sku, line.quantity, order.source) == (
        10400,
        "BEANS-1KG",
        2,
        "blog",
    )
    # A product outside the group is ignored: the signed product is what gets sold.
    client.cookies.delete("bb_bought")  # a checkout again, not "you bought this already" (item 8)
    other = client.get(path + "?variant=GOLD-BAR")
    assert "$9,999.00" not in other.text and "$24.00" in other.text


def test_overlay_checkout_and_its_receipt_may_be_framed_by_registered_sites(
    settings: Settings, sessions: sessionmaker[Session], bb: BuyButton
) -> None:
    add_product(sessions)
    registered = replace(settings, allowed_origins=("https://blog.example",))
    path = path_of(bb.checkout_link("MUG-01")) + "?embed=1&return=https://blog.example/post"
    with TestClient(create_app(registered), base_url=BASE_URL) as client:
        page = client.get(path)
        assert "frame-ancestors https://blog.example" in page.headers["content-security-policy"]
        form = {"attempt": attempt_key(page.text), **SHIPPING, **GOOD_CARD}
        form["email"], form["name"] = "bo@example.com", "Bo"
        paid = client.post(path, data=form, follow_redirects=False)
        receipt_path = paid.headers["location"]
        assert "embed=1" in receipt_path
        receipt = client.get(receipt_path)
        csp = receipt.headers["content-security-policy"]
        assert "frame-ancestors https://blog.example" in csp
        assert 'href="https://blog.example/post" target="_top"' in receipt.text


def test_cli_mints_short_links_with_qr_codes_and_recipient_links(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)
    add_product(sessions)
    qr = tmp_path / "mug.png"
    args = ["link", "MUG-01", "--short", "--source", "tiktok", "--email", "a@b.co", "--qr", str(qr)]
    assert main(args) == 0
    url = capsys.readouterr().out.strip()
    assert re.fullmatch(r"http://shop\.test/l/[A-Za-z0-9]{10}", url)
    assert qr.read_bytes().startswith(b"\x89PNG")
    with sessions() as session:
        stored = session.scalar(select(ShortLink))
        assert stored is not None and (stored.email, stored.source) == ("a@b.co", "tiktok")
    recipients = tmp_path / "list.csv"
    recipients.write_text("email,name\nana@example.com,Ana\nbo@example.com,\n")
    assert main(["link", "MUG-01", "--recipients", str(recipients), "--campaign", "nov"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "email,link" and len(lines) == 3
    email, link = lines[1].split(",", 1)
    # Per-recipient links are short links: the pre-fill stays on the server (issue 14).
    assert email == "ana@example.com" and "ana" not in link and "eyJ" not in link
    assert re.fullmatch(r"http://shop\.test/l/[A-Za-z0-9]{10}", link)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ShortLink)) == 3
        stored = session.scalar(select(ShortLink).where(ShortLink.code == link.rsplit("/", 1)[1]))
        assert stored is not None
        assert (stored.email, stored.name, stored.campaign) == ("ana@example.com", "Ana", "nov")


@pytest.mark.parametrize("surface", ["button", "card", "email", "video", "social", "qr"])
def test_cli_prints_a_snippet_for_every_surface(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
    surface: str,
) -> None:
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)
    add_product(sessions, title='Mug <script>alert("x")</script>')
    assert main(["snippet", "MUG-01", "--surface", surface, "--video-src", "/v.mp4"]) == 0
    out = capsys.readouterr().out
    html, _, description = out.partition("# For the video description:")
    if surface != "social":  # captions and descriptions are plain text, for a text box
        assert "<script>alert" not in html
    if surface == "video":
        assert description.strip().startswith("0:00 Mug")
    expected = {
        "button": 'data-buybutton-sku="MUG-01"',
        "card": 'data-buybutton-layout="card"',
        "email": '<table role="presentation"',
        "video": 'data-buybutton-layout="moment"',
        "social": "Buy it in one tap: http://shop.test/l/",
        "qr": "/qr.svg",
    }[surface]
    assert expected in out
    assert main(["snippet", "NOPE", "--surface", surface, "--video-src", "/v.mp4"]) == 2
    assert "No product with that sku" in capsys.readouterr().err
    json.dumps(out)  # printable, no stray bytes


def test_only_our_product_page_urls_name_a_product() -> None:
    from buybutton_server.errors import NotFound
    from buybutton_server.services.sharing import sku_of_page_url

    assert sku_of_page_url(BASE_URL, f"{BASE_URL}/p/MUG-01/") == "MUG-01"
    for url in ("https://evil.example/p/MUG-01", f"{BASE_URL}/c/abc", "javascript:alert(1)"):
        with pytest.raises(NotFound):
            sku_of_page_url(BASE_URL, url)


def test_qr_codes_of_another_kind_are_not_found() -> None:
    from buybutton_server.errors import NotFound
    from buybutton_server.services.sharing import qr_code

    assert qr_code(BASE_URL, "abcdefgh", "svg")[1] == "image/svg+xml"
    with pytest.raises(NotFound):
        qr_code(BASE_URL, "abcdefgh", "gif")


def test_cli_video_snippet_needs_a_video_source(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    sessions: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 11 item 23: no ``/media/video.mp4`` placeholder, which would resolve against the
    host page; one line on standard error instead."""
    monkeypatch.setenv("BUYBUTTON_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BUYBUTTON_SECRET_KEYS", SECRET)
    monkeypatch.setenv("BUYBUTTON_BASE_URL", BASE_URL)
    add_product(sessions)
    for blank in ([], ["--video-src", "  "]):
        assert main(["snippet", "MUG-01", "--surface", "video", *blank]) == 2
        out, err = capsys.readouterr()
        assert out == "" and "/media/video.mp4" not in out
        assert err.count("\n") == 1 and "--video-src" in err
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ShortLink)) == 0


def test_unfurl_pages_use_the_configured_base_url_and_no_shared_cache(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """Issue 11 item 14: a forged Host header must not become the canonical URL, and pages
    carrying a CSP nonce must not be kept by shared caches; /l/ answers by User-Agent."""
    add_product(sessions)
    code = short_code(sessions, source="instagram")
    page = client.get(
        f"/l/{code}",
        headers={"User-Agent": BOTS[0], "Host": "evil.example"},
        follow_redirects=False,
    )
    assert page.status_code == 200
    [canonical] = [
        link["href"] for link in meta_of(page.text).links if link.get("rel") == "canonical"
    ]
    assert canonical == f"{BASE_URL}/l/{code}"
    assert "evil.example" not in page.text
    assert "User-Agent" in page.headers["vary"]
    hop = client.get(f"/l/{code}", headers={"User-Agent": PHONE}, follow_redirects=False)
    assert hop.status_code == 302 and "User-Agent" in hop.headers["vary"]
    for answer in (page, client.get("/p/MUG-01"), client.get("/p/MUG-01/embed")):
        assert "'nonce-" in answer.headers["content-security-policy"]
        cache = answer.headers["cache-control"]
        assert "public" not in cache and ("private" in cache or "no-store" in cache), cache


@pytest.mark.parametrize("value", ["²", "9" * 5000, "-5", "0", "1e3", "١٢٣"])
def test_oembed_ignores_maxwidth_that_is_not_a_small_number(
    client: TestClient, sessions: sessionmaker[Session], value: str
) -> None:
    """Issue 11 item 8: ``maxwidth=²`` and 5,000 digits answered 500."""
    add_product(sessions)
    for name in ("maxwidth", "maxheight"):
        answer = client.get("/oembed", params={"url": f"{BASE_URL}/p/MUG-01", name: value})
        assert answer.status_code == 200, answer.text
        assert (answer.json()["width"], answer.json()["height"]) == (340, 430)
    small = client.get("/oembed", params={"url": f"{BASE_URL}/p/MUG-01", "maxwidth": "200"})
    assert small.json()["width"] == 200
